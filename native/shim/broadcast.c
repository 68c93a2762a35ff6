/*
 * The Pusher natives (docs/websockets.md): broadcast() publishes an event to the WebSocket
 * subscribers of channels on every HTTP worker of the node, through C# (no HTTP hop, no Pusher
 * SDK). The channel names are flattened into (ptr, len) pairs before the callback runs.
 */
#define _GNU_SOURCE
#include "shim.h"

#include <ext/spl/spl_exceptions.h>
#include <zend_exceptions.h>

#define ASKR_BROADCAST_MAX_CHANNELS 100

ZEND_FUNCTION(Ephpm_Octane_broadcast)
{
    HashTable *channels_ht = NULL;
    zend_string *channel_str = NULL;
    zend_string *event;
    zend_string *data;
    zend_string *except = NULL;
    ZEND_PARSE_PARAMETERS_START(3, 4)
        Z_PARAM_ARRAY_HT_OR_STR(channels_ht, channel_str)
        Z_PARAM_STR(event)
        Z_PARAM_STR(data)
        Z_PARAM_OPTIONAL
        Z_PARAM_STR_OR_NULL(except)
    ZEND_PARSE_PARAMETERS_END();

    uint32_t n = channels_ht ? zend_hash_num_elements(channels_ht) : 1;
    if (n == 0 || n > ASKR_BROADCAST_MAX_CHANNELS) {
        zend_argument_value_error(1, "must name 1 to %d channels (Pusher's limit)", ASKR_BROADCAST_MAX_CHANNELS);
        RETURN_THROWS();
    }
    if (ZSTR_LEN(event) == 0 || ZSTR_LEN(event) > 200) {
        zend_argument_value_error(2, "must be an event name of 1 to 200 bytes");
        RETURN_THROWS();
    }
    askr_str *items = safe_emalloc(n, sizeof(askr_str), 0);
    if (channels_ht) {
        uint32_t i = 0;
        zval *value;
        ZEND_HASH_FOREACH_VAL(channels_ht, value) {
            ZVAL_DEREF(value);
            if (Z_TYPE_P(value) != IS_STRING) {
                efree(items);
                zend_argument_type_error(1, "must be a channel name or an array of channel names, %s found in the array", zend_zval_type_name(value));
                RETURN_THROWS();
            }
            items[i].ptr = Z_STRVAL_P(value);
            items[i].len = (int64_t)Z_STRLEN_P(value);
            i++;
        } ZEND_HASH_FOREACH_END();
    } else {
        items[0].ptr = ZSTR_VAL(channel_str);
        items[0].len = (int64_t)ZSTR_LEN(channel_str);
    }
    askr_str ev = { ZSTR_VAL(event), (int64_t)ZSTR_LEN(event) };
    askr_str da = { ZSTR_VAL(data), (int64_t)ZSTR_LEN(data) };
    askr_str ex = { except ? ZSTR_VAL(except) : NULL, except ? (int64_t)ZSTR_LEN(except) : 0 };
    int32_t rc = askr_cb.broadcast ? askr_cb.broadcast(items, n, &ev, &da, &ex) : ASKR_BROADCAST_NO_APP;
    efree(items);
    if (rc == ASKR_BROADCAST_NO_APP) {
        zend_throw_exception_ex(spl_ce_RuntimeException, 0, "Ephpm\\Octane\\broadcast(): this server has no Pusher app (askr serve --pusher-app id:key:secret, docs/websockets.md)");
        RETURN_THROWS();
    }
    if (rc == ASKR_BROADCAST_INVALID_CHANNEL) {
        zend_argument_value_error(1, "must hold valid Pusher channel names (1 to 164 characters of A-Z a-z 0-9 _ - = @ , . ;)");
        RETURN_THROWS();
    }
    if (rc != ASKR_BROADCAST_OK) {
        zend_throw_exception_ex(spl_ce_RuntimeException, 0, "Ephpm\\Octane\\broadcast(): the runtime could not publish the event (code %d)", rc);
        RETURN_THROWS();
    }
}
