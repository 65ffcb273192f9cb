/*
 * spec.c - the local backend's JSON spec (see spec.h), parsed strictly
 * with cJSON into plain C arrays.
 */
#include "spec.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_MAX_BYTES (1 << 20)
#define SPEC_NAME_MAX 63

static char *dup_str(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void free_strv(char **v)
{
    size_t i;

    for (i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static bool valid_name(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n > SPEC_NAME_MAX)
        return false;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' ||
              s[i] == '.'))
            return false;
    return true;
}

/* argv: a non-empty array of strings. */
static int parse_argv(const cJSON *a, struct spec_slot *s, char *err,
                      size_t errsz)
{
    int i, n = cJSON_IsArray(a) ? cJSON_GetArraySize(a) : 0;

    if (n == 0) {
        snprintf(err, errsz,
                 "slot '%s': \"argv\" must be a non-empty array of "
                 "strings",
                 s->name);
        return -1;
    }
    s->argv = calloc((size_t)n + 1, sizeof(char *));
    if (s->argv == NULL)
        goto out_oom;
    for (i = 0; i < n; i++) {
        const cJSON *it = cJSON_GetArrayItem(a, i);

        if (!cJSON_IsString(it) || (i == 0 && it->valuestring[0] == '\0')) {
            snprintf(err, errsz, "slot '%s': argv[%d] must be a%s string",
                     s->name, i, i == 0 ? " non-empty" : "");
            return -1;
        }
        if ((s->argv[i] = strdup(it->valuestring)) == NULL)
            goto out_oom;
    }
    return 0;
out_oom:
    snprintf(err, errsz, "out of memory");
    return -1;
}

/* env: an object of strings, into "KEY=VALUE". */
static int parse_env(const cJSON *o, struct spec_slot *s, char *err,
                     size_t errsz)
{
    const cJSON *it;
    size_t n = 0;

    if (o == NULL) {
        s->env = calloc(1, sizeof(char *));
        goto out_check;
    }
    if (!cJSON_IsObject(o)) {
        snprintf(err, errsz, "slot '%s': \"env\" must be an object of strings",
                 s->name);
        return -1;
    }
    s->env = calloc((size_t)cJSON_GetArraySize(o) + 1, sizeof(char *));
    if (s->env == NULL)
        goto out_check;
    cJSON_ArrayForEach(it, o) {
        size_t len;

        if (!cJSON_IsString(it) || it->string[0] == '\0' ||
            strchr(it->string, '=')) {
            snprintf(err, errsz,
                     "slot '%s': env '%s' must be a NAME (no '=') with "
                     "a string value",
                     s->name, it->string);
            return -1;
        }
        len = strlen(it->string) + strlen(it->valuestring) + 2;
        if ((s->env[n] = malloc(len)) == NULL)
            goto out_check;
        snprintf(s->env[n++], len, "%s=%s", it->string, it->valuestring);
    }
out_check:
    if (s->env == NULL || (o && n < (size_t)cJSON_GetArraySize(o))) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    return 0;
}

static int opt_str(const cJSON *o, const char *key, char **dst,
                   const char *slot, char *err, size_t errsz)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

    if (it == NULL)
        return 0;
    if (!cJSON_IsString(it) || it->valuestring[0] == '\0') {
        snprintf(err, errsz, "slot '%s': \"%s\" must be a non-empty string",
                 slot, key);
        return -1;
    }
    if ((*dst = dup_str(it->valuestring)) == NULL) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    return 0;
}

static int check_keys(const cJSON *o, const char *slot, char *err, size_t errsz)
{
    static const char *const keys[] = {"name", "argv", "env", "cwd", "log"};
    const cJSON *it;
    size_t k;

    cJSON_ArrayForEach(it, o) {
        for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
            if (strcmp(it->string, keys[k]) == 0)
                break;
        if (k == sizeof(keys) / sizeof(keys[0])) {
            snprintf(err, errsz, "slot '%s': unknown key \"%s\"", slot,
                     it->string);
            return -1;
        }
    }
    return 0;
}

static int parse_slot(const cJSON *o, struct spec *sp, size_t idx, char *err,
                      size_t errsz)
{
    struct spec_slot *s = &sp->slots[idx];
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    size_t i;

    if (!cJSON_IsObject(o) || !cJSON_IsString(name) ||
        !valid_name(name->valuestring)) {
        snprintf(err, errsz,
                 "slots[%zu]: needs a \"name\" of 1..%d characters "
                 "[A-Za-z0-9._-]",
                 idx, SPEC_NAME_MAX);
        return -1;
    }
    for (i = 0; i < idx; i++)
        if (strcmp(sp->slots[i].name, name->valuestring) == 0) {
            snprintf(err, errsz, "slot '%s' is listed twice",
                     name->valuestring);
            return -1;
        }
    if ((s->name = strdup(name->valuestring)) == NULL) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    if (check_keys(o, s->name, err, errsz) != 0 ||
        parse_argv(cJSON_GetObjectItemCaseSensitive(o, "argv"), s, err,
                   errsz) != 0 ||
        parse_env(cJSON_GetObjectItemCaseSensitive(o, "env"), s, err, errsz) !=
            0 ||
        opt_str(o, "cwd", &s->cwd, s->name, err, errsz) != 0 ||
        opt_str(o, "log", &s->log, s->name, err, errsz) != 0)
        return -1;
    return 0;
}

struct spec *spec_parse(const char *json, char *err, size_t errsz)
{
    cJSON *root = cJSON_Parse(json);
    const cJSON *slots =
        root ? cJSON_GetObjectItemCaseSensitive(root, "slots") : NULL;
    struct spec *sp = NULL;
    size_t i, n;

    if (root == NULL) {
        snprintf(err, errsz, "not valid JSON");
        return NULL;
    }
    if (!cJSON_IsArray(slots) || cJSON_GetArraySize(slots) == 0) {
        snprintf(err, errsz,
                 "expected {\"slots\": [ ... ]} with at least one slot");
        goto out_root;
    }
    n = (size_t)cJSON_GetArraySize(slots);
    sp = calloc(1, sizeof(*sp));
    if (sp == NULL || (sp->slots = calloc(n, sizeof(*sp->slots))) == NULL) {
        snprintf(err, errsz, "out of memory");
        goto out_spec;
    }
    sp->n = n;
    for (i = 0; i < n; i++)
        if (parse_slot(cJSON_GetArrayItem(slots, (int)i), sp, i, err, errsz) !=
            0)
            goto out_spec;
    cJSON_Delete(root);
    return sp;
out_spec:
    spec_free(sp);
    sp = NULL;
out_root:
    cJSON_Delete(root);
    return sp;
}

struct spec *spec_load(const char *path, char *err, size_t errsz)
{
    FILE *f = fopen(path, "r");
    struct spec *sp = NULL;
    char *buf, sub[192];
    size_t n;

    if (f == NULL) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return NULL;
    }
    buf = malloc(SPEC_MAX_BYTES + 1);
    if (buf == NULL) {
        snprintf(err, errsz, "out of memory");
        goto out_close;
    }
    n = fread(buf, 1, SPEC_MAX_BYTES + 1, f);
    if (ferror(f) || n > SPEC_MAX_BYTES) {
        snprintf(err, errsz, "%s: %s", path,
                 ferror(f) ? "read error" : "larger than 1 MiB");
        goto out_free;
    }
    buf[n] = '\0';
    sp = spec_parse(buf, sub, sizeof(sub));
    if (sp == NULL)
        snprintf(err, errsz, "%s: %s", path, sub);
out_free:
    free(buf);
out_close:
    (void)fclose(f); /* read only: nothing to lose */
    return sp;
}

void spec_free(struct spec *s)
{
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; s->slots && i < s->n; i++) {
        free(s->slots[i].name);
        free_strv(s->slots[i].argv);
        free_strv(s->slots[i].env);
        free(s->slots[i].cwd);
        free(s->slots[i].log);
    }
    free(s->slots);
    free(s);
}
