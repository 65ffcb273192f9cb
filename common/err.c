/*
 * err.c - the text of every error of the space (see err.h).
 */
#include "err.h"

#include <string.h>

const char *cs_strerror(int err)
{
    switch (err) {
    case CS_OK:
        return "success";
#define CS_ERR_CASE(name, value, msg)                                          \
    case CS_ERR_##name:                                                        \
        return msg;
        CS_ERR_MAP(CS_ERR_CASE)
#undef CS_ERR_CASE
    default:
        break;
    }
    if (err < 0 && err >= -CS_ERR_ERRNO_MAX)
        return strerror(-err);
    return "unknown error";
}
