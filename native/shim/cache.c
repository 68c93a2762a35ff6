/*
 * The response cache natives (docs/response-cache.md): cache_forget_tag(), cache_forget() and
 * cache_flush() hand their strings to C# (the cache_purge callback), which moves the tag
 * generations of the node's shared cache. Arguments are checked here, where PHP errors can be
 * thrown; the callback never calls into the engine.
 */
#include "shim.h"

#include <ext/spl/spl_exceptions.h>
#include <zend_exceptions.h>

/* As CacheDirective.MaxTagLength (the Askr-Cache header's limit). */
#define ASKR_CACHE_TAG_MAX_BYTES 200

static void askr_cache_purge(const char *function, int32_t kind, const askr_str *items, int64_t count)
{
    int32_t rc = askr_cb.cache_purge ? askr_cb.cache_purge(kind, items, count) : 0;
    if (rc < 0) {
        zend_throw_exception_ex(spl_ce_RuntimeException, 0, "Ephpm\\Octane\\%s(): the runtime could not purge the response cache (code %d)", function, rc);
    }
}

static bool askr_cache_tag_ok(zend_string *tag)
{
    if (ZSTR_LEN(tag) == 0) {
        zend_argument_value_error(1, "must not contain an empty tag");
        return false;
    }
    if (ZSTR_LEN(tag) > ASKR_CACHE_TAG_MAX_BYTES) {
        zend_argument_value_error(1, "must not contain a tag longer than %d bytes", ASKR_CACHE_TAG_MAX_BYTES);
        return false;
    }
    return true;
}

ZEND_FUNCTION(Ephpm_Octane_cache_forget_tag)
{
    HashTable *list = NULL;
    zend_string *one = NULL;
    ZEND_PARSE_PARAMETERS_START(1, 1)
        Z_PARAM_ARRAY_HT_OR_STR(list, one)
    ZEND_PARSE_PARAMETERS_END();
    if (one) {
        if (!askr_cache_tag_ok(one)) {
            RETURN_THROWS();
        }
        askr_str item = { ZSTR_VAL(one), (int64_t)ZSTR_LEN(one) };
        askr_cache_purge("cache_forget_tag", ASKR_CACHE_PURGE_TAGS, &item, 1);
        return;
    }
    uint32_t n = zend_hash_num_elements(list);
    if (n == 0) {
        return;
    }
    askr_str *items = safe_emalloc(n, sizeof(askr_str), 0);
    uint32_t i = 0;
    zval *value;
    ZEND_HASH_FOREACH_VAL(list, value) {
        ZVAL_DEREF(value);
        if (Z_TYPE_P(value) != IS_STRING) {
            efree(items);
            zend_argument_type_error(1, "must be a string or an array of strings, %s found in the array", zend_zval_type_name(value));
            RETURN_THROWS();
        }
        if (!askr_cache_tag_ok(Z_STR_P(value))) {
            efree(items);
            RETURN_THROWS();
        }
        items[i].ptr = Z_STRVAL_P(value);
        items[i].len = (int64_t)Z_STRLEN_P(value);
        i++;
    } ZEND_HASH_FOREACH_END();
    askr_cache_purge("cache_forget_tag", ASKR_CACHE_PURGE_TAGS, items, n);
    efree(items);
}

ZEND_FUNCTION(Ephpm_Octane_cache_forget)
{
    zend_string *url;
    ZEND_PARSE_PARAMETERS_START(1, 1)
        Z_PARAM_STR(url)
    ZEND_PARSE_PARAMETERS_END();
    if (ZSTR_LEN(url) == 0) {
        zend_argument_value_error(1, "must not be empty");
        RETURN_THROWS();
    }
    askr_str item = { ZSTR_VAL(url), (int64_t)ZSTR_LEN(url) };
    askr_cache_purge("cache_forget", ASKR_CACHE_PURGE_URLS, &item, 1);
}

ZEND_FUNCTION(Ephpm_Octane_cache_flush)
{
    ZEND_PARSE_PARAMETERS_NONE();
    askr_cache_purge("cache_flush", ASKR_CACHE_PURGE_FLUSH, NULL, 0);
}
