/* dynlib: libcurl and libmicrohttpd, opened when first used. A report or
 * an import never needs them, and loading them with the program (some
 * thirty libraries behind them: TLS, Kerberos, LDAP, SSH...) cost every
 * command about 11 ms before main. The server opens libmicrohttpd when it
 * starts; webhooks, Slack and ClickHouse open libcurl on their first
 * request. Each table holds the library's own functions (the prototypes
 * of its headers); when the library cannot be opened, functions that
 * fail the way the library reports failure (NULL handles, error codes)
 * and up_curl_missing / up_mhd_missing say why. Thread-safe. */
#ifndef UP_DYNLIB_H
#define UP_DYNLIB_H

#define CURL_DISABLE_TYPECHECK 1   /* curl_easy_setopt as a function, not a macro */
#include <curl/curl.h>
#include <microhttpd.h>

typedef struct {
    __typeof__(curl_global_init) *global_init;
    __typeof__(curl_easy_init) *easy_init;
    __typeof__(curl_easy_setopt) *easy_setopt;
    __typeof__(curl_easy_perform) *easy_perform;
    __typeof__(curl_easy_getinfo) *easy_getinfo;
    __typeof__(curl_easy_cleanup) *easy_cleanup;
    __typeof__(curl_easy_strerror) *easy_strerror;
    __typeof__(curl_easy_escape) *easy_escape;
    __typeof__(curl_free) *free;
    __typeof__(curl_slist_append) *slist_append;
    __typeof__(curl_slist_free_all) *slist_free_all;
} up_curl_api_t;

typedef struct {
    __typeof__(MHD_start_daemon) *start_daemon;
    __typeof__(MHD_stop_daemon) *stop_daemon;
    __typeof__(MHD_quiesce_daemon) *quiesce_daemon;
    __typeof__(MHD_get_daemon_info) *get_daemon_info;
    __typeof__(MHD_get_connection_info) *get_connection_info;
    __typeof__(MHD_lookup_connection_value) *lookup_connection_value;
    __typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
    __typeof__(MHD_add_response_header) *add_response_header;
    __typeof__(MHD_queue_response) *queue_response;
    __typeof__(MHD_destroy_response) *destroy_response;
    __typeof__(MHD_basic_auth_get_username_password) *basic_auth_get_username_password;
    __typeof__(MHD_free) *free;
} up_mhd_api_t;

/* libcurl's functions (curl_global_init already called). */
const up_curl_api_t *up_curl(void);
/* NULL when libcurl is loaded; otherwise why it is not. */
const char *up_curl_missing(void);

/* libmicrohttpd's functions. */
const up_mhd_api_t *up_mhd(void);
/* NULL when libmicrohttpd is loaded; otherwise why it is not. */
const char *up_mhd_missing(void);

#endif
