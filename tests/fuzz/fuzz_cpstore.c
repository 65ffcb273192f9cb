/*
 * fuzz_cpstore.c - libFuzzer harness for the control plane's session store
 * (controlplane/store.c): cs.events bodies arrive from the broker, so any
 * bytes may reach cp_store_apply. The input is split at newlines into
 * events applied in order to a fresh store (SQLite in memory, 4 sessions
 * held, so eviction and the SQLite fallback run); then every rendering must
 * give valid JSON (or Prometheus text), a listed session must be found by
 * id with the same state, and results recorded for it must show up.
 */
#include "controlplane/archive.h"
#include "controlplane/store.h"
#include "err.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            abort();                                                           \
    } while (0)

/* Each listed session: found by id, same state; results can be set. */
static void check_listed(struct cp_store *s, const cJSON *list)
{
    struct cp_result_file f = {"q3.csv", 2, 20};
    const cJSON *it;
    char rel[256];

    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(list, "sessions")) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
        bool found = false;
        char *one;
        cJSON *doc;

        CHECK(cJSON_IsString(id) && cp_session_id_valid(id->valuestring));
        one = cp_store_get_json(s, id->valuestring, &found);
        CHECK(found && one != NULL);
        doc = cJSON_Parse(one);
        CHECK(doc != NULL);
        CHECK(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(doc, "state"),
                            cJSON_GetObjectItemCaseSensitive(it, "state"),
                            true));
        cJSON_Delete(doc);
        free(one);
        CHECK(cp_store_state(s, id->valuestring) != CP_STATE_UNKNOWN);
        CHECK(cp_store_set_results(s, id->valuestring, "2026-01-01/x", &f, 1,
                                   1.0) == 0);
        CHECK(cp_store_archive_of(s, id->valuestring, rel, sizeof(rel)) == 0);
        CHECK(strcmp(rel, "2026-01-01/x") == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256], gw[64];
    struct cp_store *s = cp_store_open(":memory:", 4, err, sizeof(err));
    const uint8_t *p = data, *end = data + size;
    char *text;
    cJSON *list;

    CHECK(s != NULL);
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        int rc = cp_store_apply(s, p, n);

        CHECK(rc == 0 || rc == CS_ERR_ARG);
        cp_store_last_gateway(s, gw, sizeof(gw));
        CHECK(memchr(gw, '\0', sizeof(gw)) != NULL);
        p += n + 1;
    }
    text = cp_store_list_json(s);
    CHECK(text != NULL);
    list = cJSON_Parse(text);
    CHECK(list != NULL);
    free(text);
    check_listed(s, list);
    cJSON_Delete(list);
    text = cp_store_metrics(s, true);
    CHECK(text != NULL && strlen(text) > 0 && text[strlen(text) - 1] == '\n');
    free(text);
    (void)cp_store_expire(s, 1e13, 1.0, 1, NULL, NULL);
    cp_store_close(s);
    return 0;
}
