/*
 * dataset.c - finds a data folder, lists each table's CSV files in name
 * order and checks their header lines against docs/QUERIES.md, all before
 * anything is sent, so a bad folder fails fast with a clear message.
 */
#include "client.h"

#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const enum proto_table cl_send_order[PROTO_NTABLES] = {
    PROTO_T_STORES,       PROTO_T_MENU_ITEMS,        PROTO_T_USERS,
    PROTO_T_TRANSACTIONS, PROTO_T_TRANSACTION_ITEMS,
};

static const char *const headers[PROTO_NTABLES] = {
    [PROTO_T_TRANSACTIONS] = "transaction_id,store_id,payment_method_id,"
                             "voucher_id,user_id,original_amount,"
                             "discount_applied,final_amount,created_at",
    [PROTO_T_TRANSACTION_ITEMS] = "transaction_id,item_id,quantity,unit_price,"
                                  "subtotal,created_at",
    [PROTO_T_USERS] = "user_id,gender,birthdate,registered_at",
    [PROTO_T_STORES] = "store_id,store_name,street,postal_code,city,state,"
                       "latitude,longitude",
    [PROTO_T_MENU_ITEMS] = "item_id,item_name,category,price,is_seasonal,"
                           "available_from,available_to",
};

const char *cl_table_header(enum proto_table t)
{
    return headers[t];
}

static bool is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Logs the folders that do exist under root, to help with a typo. */
static void log_missing_folder(const char *root, const char *path)
{
    char list[1024] = "";
    size_t used = 0;
    struct dirent *e;
    DIR *d = opendir(root);

    if (d == NULL) {
        cl_error("data root '%s' does not exist (%s); set --data-root or "
                 "DATA_ROOT",
                 root, strerror(errno));
        return;
    }
    while ((e = readdir(d)) != NULL && used < sizeof(list)) {
        char sub[4096];
        int r;

        if (e->d_name[0] == '.')
            continue;
        r = snprintf(sub, sizeof(sub), "%s/%s", root, e->d_name);
        if (r < 0 || (size_t)r >= sizeof(sub) || !is_dir(sub))
            continue;
        r = snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "",
                     e->d_name);
        if (r > 0)
            used += (size_t)r;
    }
    closedir(d);
    cl_error("data folder '%s' not found; folders under '%s': %s", path, root,
             used ? list : "(none)");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_csv_suffix(const char *name)
{
    size_t n = strlen(name);

    return n > 4 && strcmp(name + n - 4, ".csv") == 0;
}

/* Checks the first line of a file against the table's header. */
static int check_header(const char *file, enum proto_table t)
{
    char line[4096];
    const char *h = line;
    ssize_t n;
    char *nl;
    int fd = open(file, O_RDONLY);

    if (fd < 0) {
        cl_error("cannot open %s: %s", file, strerror(errno));
        return -1;
    }
    n = read(fd, line, sizeof(line) - 1);
    close(fd);
    if (n < 0) {
        cl_error("cannot read %s: %s", file, strerror(errno));
        return -1;
    }
    line[n] = '\0';
    nl = memchr(line, '\n', (size_t)n);
    if (nl == NULL) {
        cl_error("%s: no header line (the file is empty or its first line is "
                 "too long); expected '%s'",
                 file, headers[t]);
        return -1;
    }
    *nl = '\0';
    if (nl > line && nl[-1] == '\r')
        nl[-1] = '\0';
    if (strncmp(h, "\xef\xbb\xbf", 3) == 0) /* UTF-8 byte order mark */
        h += 3;
    if (strcmp(h, headers[t]) != 0) {
        cl_error("%s: header does not match table %s: got '%.200s', expected "
                 "'%s'",
                 file, proto_table_name((uint8_t)t), h, headers[t]);
        return -1;
    }
    return 0;
}

static int add_file(struct cl_table *tb, const char *path, off_t size)
{
    char **files = realloc(tb->files, (tb->nfiles + 1) * sizeof(*files));

    if (files == NULL)
        return -1;
    tb->files = files;
    files[tb->nfiles] = strdup(path);
    if (files[tb->nfiles] == NULL)
        return -1;
    tb->nfiles++;
    tb->bytes += (uint64_t)size;
    return 0;
}

static int list_table(struct cl_dataset *ds, struct cl_table *tb)
{
    const char *name = proto_table_name((uint8_t)tb->id);
    char dir[4200], path[4500];
    struct dirent *e;
    DIR *d;
    size_t i;

    snprintf(dir, sizeof(dir), "%s/%s", ds->path, name);
    d = opendir(dir);
    if (d == NULL) {
        cl_error("table folder '%s' missing in data folder '%s': %s", name,
                 ds->path, strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        struct stat st;

        if (e->d_name[0] == '.' || !has_csv_suffix(e->d_name))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (add_file(tb, path, st.st_size) != 0) {
            closedir(d);
            cl_error("out of memory listing %s", dir);
            return -1;
        }
    }
    closedir(d);
    if (tb->nfiles == 0)
        cl_warn("table folder %s has no .csv file: the table is sent empty",
                dir);
    qsort(tb->files, tb->nfiles, sizeof(*tb->files), cmp_str);
    for (i = 0; i < tb->nfiles; i++)
        if (check_header(tb->files[i], tb->id) != 0)
            return -1;
    ds->total_bytes += tb->bytes;
    return 0;
}

int cl_dataset_open(struct cl_dataset *ds, const char *root, const char *folder)
{
    int t, r;

    memset(ds, 0, sizeof(*ds));
    if (strchr(folder, '/') != NULL)
        r = snprintf(ds->path, sizeof(ds->path), "%s", folder);
    else
        r = snprintf(ds->path, sizeof(ds->path), "%s/%s", root, folder);
    if (r < 0 || (size_t)r >= sizeof(ds->path)) {
        cl_error("data folder path too long");
        return -1;
    }
    if (!is_dir(ds->path)) {
        log_missing_folder(strchr(folder, '/') ? "." : root, ds->path);
        return -1;
    }
    for (t = 0; t < PROTO_NTABLES; t++) {
        ds->tables[t].id = (enum proto_table)t;
        if (list_table(ds, &ds->tables[t]) != 0)
            return -1;
    }
    return 0;
}

void cl_dataset_fini(struct cl_dataset *ds)
{
    int t;
    size_t i;

    for (t = 0; t < PROTO_NTABLES; t++) {
        for (i = 0; i < ds->tables[t].nfiles; i++)
            free(ds->tables[t].files[i]);
        free(ds->tables[t].files);
        ds->tables[t].files = NULL;
        ds->tables[t].nfiles = 0;
    }
}
