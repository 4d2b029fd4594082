// The peer of `make bench-http`: a naive durable receiver in Node. It reads
// the body, parses the JSON, appends it to a file and fsyncs before
// answering 200, one request at a time per fsync (no group commit) — what a
// hand-written webhook sink would do. Listens on 127.0.0.1:PORT.
import http from 'node:http';
import fs from 'node:fs';
const [port, file] = process.argv.slice(2);
const fd = fs.openSync(file, 'a');
http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    try { JSON.parse(body); } catch { res.writeHead(400); res.end(); return; }
    fs.write(fd, body, () => fs.fsync(fd, () => { res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"success":true}'); }));
  });
}).listen(Number(port), '127.0.0.1', () => console.error(`peer listening on ${port}`));
