/*
 * curl_dl.h - libcurl, loaded at run time. The client is not linked with
 * libcurl: only status, watch and results use it (api.c), and loading it
 * and its ~33 libraries costs every start of the client about 4 ms. So
 * api.c opens libcurl.so.4 with dlopen when it needs it and calls through
 * a table of function pointers, each typed from <curl/curl.h>'s own
 * declaration (a libcurl whose prototypes change fails to compile here,
 * not at run time).
 *
 * The table's calls skip curl's compile-time option checks (typecheck-gcc.h
 * wraps the names curl_easy_setopt and curl_easy_getinfo, not pointers):
 * pass each option the type curl's manual gives it (long, not int).
 */
#ifndef CS_CLIENT_CURL_DL_H
#define CS_CLIENT_CURL_DL_H

#include <curl/curl.h>

#include <stddef.h>

/* The soname loaded, for messages (Debian's package: libcurl4). */
#define CL_CURL_SONAME "libcurl.so.4"

/* X(field, symbol): every libcurl function the client calls. */
#define CL_CURL_FUNCS(X)                                                       \
    X(global_init, curl_global_init)                                           \
    X(global_cleanup, curl_global_cleanup)                                     \
    X(easy_init, curl_easy_init)                                               \
    X(easy_cleanup, curl_easy_cleanup)                                         \
    X(easy_reset, curl_easy_reset)                                             \
    X(easy_setopt, curl_easy_setopt)                                           \
    X(easy_getinfo, curl_easy_getinfo)                                         \
    X(easy_perform, curl_easy_perform)                                         \
    X(easy_strerror, curl_easy_strerror)

/* The loaded library; fields valid between cl_curl_init and cl_curl_fini.
 * easy_setopt and easy_getinfo are variadic, as in curl.h. */
struct cl_curl {
    void *dl; /* dlopen's handle, owned */
#define CL_CURL_FIELD(field, sym) __typeof__(sym) *field;
    CL_CURL_FUNCS(CL_CURL_FIELD)
#undef CL_CURL_FIELD
};

/* Opens libcurl.so.4 and resolves every function into *c (caller's
 * storage). Returns 0, or -1 when dlopen or a dlsym fails: err (errsz
 * bytes) then holds dlerror()'s text and *c needs no cl_curl_fini.
 * Does not call curl_global_init. */
int cl_curl_init(struct cl_curl *c, char *err, size_t errsz)
    __attribute__((warn_unused_result));
/* Closes the library; c's pointers are invalid after. */
void cl_curl_fini(struct cl_curl *c);

#endif
