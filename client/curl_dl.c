/*
 * curl_dl.c - opens libcurl.so.4 at run time and resolves the functions
 * the client calls (see curl_dl.h).
 */
#include "curl_dl.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

/* dlsym returns a void *; POSIX guarantees it converts to a function
 * pointer, ISO C does not, so the bytes are copied instead of cast. */
_Static_assert(sizeof(void *) == sizeof(void (*)(void)),
               "dlsym's void * must hold a function pointer");

static const struct {
    const char *name;
    size_t off;
} syms[] = {
#define CL_CURL_SYM(field, sym) {#sym, offsetof(struct cl_curl, field)},
    CL_CURL_FUNCS(CL_CURL_SYM)
#undef CL_CURL_SYM
};

/* dlerror()'s text, or what failed when it has none. */
static void set_err(char *err, size_t errsz, const char *what)
{
    const char *e = dlerror();

    (void)snprintf(err, errsz, "%s", e ? e : what);
}

int cl_curl_init(struct cl_curl *c, char *err, size_t errsz)
{
    size_t i;

    memset(c, 0, sizeof(*c));
    /* RTLD_NOW: a missing dependency fails here, not mid-request. */
    if ((c->dl = dlopen(CL_CURL_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        set_err(err, errsz, "dlopen failed");
        return -1;
    }
    for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        void *p;

        (void)dlerror(); /* a NULL symbol is not an error by itself */
        if ((p = dlsym(c->dl, syms[i].name)) == NULL) {
            set_err(err, errsz, syms[i].name);
            goto out_close;
        }
        memcpy((char *)c + syms[i].off, &p, sizeof(p));
    }
    return 0;
out_close:
    cl_curl_fini(c);
    return -1;
}

void cl_curl_fini(struct cl_curl *c)
{
    if (c->dl)
        (void)dlclose(c->dl);
    memset(c, 0, sizeof(*c));
}
