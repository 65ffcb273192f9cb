/*
 * fuzz_cliview.c - libFuzzer harness for the text the client prints from
 * the control plane's JSON (client/view.c): arbitrary bytes parsed by cJSON,
 * then the sessions table, every session's details and id prefix lookups.
 * Whatever the JSON holds (missing fields, wrong types, NaN-free huge
 * numbers, deep nesting), nothing crashes, overflows or leaks, and the
 * output is a NUL-terminated string.
 */
#include "client/view.h"

#include <cjson/cJSON.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            abort();                                                           \
    } while (0)

static void check_buf(struct cv_buf *b)
{
    CHECK(b->oom || b->len == 0 || strlen(cv_text(b)) == b->len);
    cv_buf_fini(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *root = cJSON_ParseWithLength((const char *)data, size);
    const cJSON *list, *s, *found;
    struct cv_buf b = {0};

    if (root == NULL)
        return 0;
    list = cJSON_GetObjectItemCaseSensitive(root, "sessions");
    if (!cJSON_IsArray(list))
        list = root;
    cv_sessions_table(&b, list, 1795999039000LL, false);
    check_buf(&b);
    cv_sessions_table(&b, list, 0, true);
    check_buf(&b);
    (void)cv_any_active(list);
    cJSON_ArrayForEach(s, list) {
        const char *id =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "id"));

        cv_session_detail(&b, s, 1795999039000LL);
        check_buf(&b);
        if (id != NULL) {
            int m = cv_find_session(list, id, &found);

            CHECK(m != 0 || found != NULL);
            (void)cv_safe_file_name(id);
        }
    }
    cv_session_detail(&b, root, -1);
    check_buf(&b);
    cJSON_Delete(root);
    return 0;
}
