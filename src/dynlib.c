/* dynlib: libcurl and libmicrohttpd opened on first use (see the header). */
#include "dynlib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* ---- stand-ins when a library cannot be opened -------------------------- */

static CURLcode no_global_init(long flags) { (void)flags; return CURLE_FAILED_INIT; }
static CURL *no_easy_init(void) { return NULL; }
static CURLcode no_easy_setopt(CURL *c, CURLoption o, ...) { (void)c, (void)o; return CURLE_FAILED_INIT; }
static CURLcode no_easy_perform(CURL *c) { (void)c; return CURLE_FAILED_INIT; }
static CURLcode no_easy_getinfo(CURL *c, CURLINFO i, ...) { (void)c, (void)i; return CURLE_FAILED_INIT; }
static void no_easy_cleanup(CURL *c) { (void)c; }
static const char *no_easy_strerror(CURLcode rc) { (void)rc; return up_curl_missing(); }
static char *no_easy_escape(CURL *c, const char *s, int n) { (void)c, (void)s, (void)n; return NULL; }
static void no_free(void *p) { (void)p; }
static struct curl_slist *no_slist_append(struct curl_slist *l, const char *s) { (void)l, (void)s; return NULL; }
static void no_slist_free_all(struct curl_slist *l) { (void)l; }

static up_curl_api_t curl_api = {no_global_init, no_easy_init, no_easy_setopt, no_easy_perform, no_easy_getinfo,
                                 no_easy_cleanup, no_easy_strerror, no_easy_escape, no_free, no_slist_append,
                                 no_slist_free_all};
static char curl_why[256];
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static struct MHD_Daemon *no_start_daemon(unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc,
                                          void *apc_cls, MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
    (void)flags, (void)port, (void)apc, (void)apc_cls, (void)dh, (void)dh_cls;
    return NULL;
}

/* the rest is never reached without a daemon */
static up_mhd_api_t mhd_api = {.start_daemon = no_start_daemon};
static char mhd_why[256];
static pthread_once_t mhd_once = PTHREAD_ONCE_INIT;

/* Opens the first of names that opens and fills api (n function
 * pointers, in the order of syms) with its symbols; on failure api is left
 * as it is (the stand-ins) and why says what was missing. */
static void open_lib(const char *const *names, const char *const *syms, size_t n, void *api, char *why,
                     size_t whylen)
{
    void *h = NULL;
    const char *err = "";
    for (const char *const *nm = names; *nm && !h; nm++)
        if (!(h = dlopen(*nm, RTLD_NOW | RTLD_LOCAL)))
            err = dlerror();
    if (!h) {
        snprintf(why, whylen, "cannot open %s (%s)", names[0], err ? err : "not found");
        return;
    }
    void *found[16];
    _Static_assert(sizeof(up_curl_api_t) <= sizeof found && sizeof(up_mhd_api_t) <= sizeof found,
                   "room for every symbol");
    for (size_t i = 0; i < n; i++)
        if (!(found[i] = dlsym(h, syms[i]))) {
            snprintf(why, whylen, "%s has no %s", names[0], syms[i]);
            dlclose(h);
            return;
        }
    memcpy(api, found, n * sizeof *found);
}

static void curl_open(void)
{
    static const char *const names[] = {"libcurl.so.4", "libcurl.so", NULL};
    static const char *const syms[] = {"curl_global_init", "curl_easy_init", "curl_easy_setopt",
                                       "curl_easy_perform", "curl_easy_getinfo", "curl_easy_cleanup",
                                       "curl_easy_strerror", "curl_easy_escape", "curl_free",
                                       "curl_slist_append", "curl_slist_free_all"};
    _Static_assert(sizeof syms / sizeof *syms == sizeof(up_curl_api_t) / sizeof(void *), "a symbol per slot");
    open_lib(names, syms, sizeof syms / sizeof *syms, &curl_api, curl_why, sizeof curl_why);
    if (!curl_why[0] && curl_api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        snprintf(curl_why, sizeof curl_why, "libcurl would not start (curl_global_init failed)");
}

const up_curl_api_t *up_curl(void)
{
    pthread_once(&curl_once, curl_open);
    return &curl_api;
}

const char *up_curl_missing(void)
{
    up_curl();
    return curl_why[0] ? curl_why : NULL;
}

static void mhd_open(void)
{
    static const char *const names[] = {"libmicrohttpd.so.12", "libmicrohttpd.so", NULL};
    static const char *const syms[] = {"MHD_start_daemon", "MHD_stop_daemon", "MHD_quiesce_daemon",
                                       "MHD_get_daemon_info", "MHD_get_connection_info",
                                       "MHD_lookup_connection_value", "MHD_create_response_from_buffer",
                                       "MHD_add_response_header", "MHD_queue_response", "MHD_destroy_response",
                                       "MHD_basic_auth_get_username_password", "MHD_free"};
    _Static_assert(sizeof syms / sizeof *syms == sizeof(up_mhd_api_t) / sizeof(void *), "a symbol per slot");
    open_lib(names, syms, sizeof syms / sizeof *syms, &mhd_api, mhd_why, sizeof mhd_why);
}

const up_mhd_api_t *up_mhd(void)
{
    pthread_once(&mhd_once, mhd_open);
    return &mhd_api;
}

const char *up_mhd_missing(void)
{
    up_mhd();
    return mhd_why[0] ? mhd_why : NULL;
}
