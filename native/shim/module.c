/*
 * The module "askr" that the SAPI starts with the engine: the natives' function table and the
 * class entries, generated at the build from php/octane-driver/stubs/natives.php by PHP's
 * gen_stub.php (natives_arginfo.h, docs/natives.md "One source"), and the per-request cleanup.
 */
#define _GNU_SOURCE
#include "shim.h"

#include <ext/standard/info.h>

#include "natives_arginfo.h"

/* What the natives keep per PHP request (one run of the worker script) is released when it ends. */
static PHP_RSHUTDOWN_FUNCTION(askr)
{
    askr_ticks_release();
    askr_deferred_release();
    askr_tables_release();
    askr_background_release();
    return SUCCESS;
}

static PHP_MINFO_FUNCTION(askr)
{
    php_info_print_table_start();
    php_info_print_table_row(2, "askr runtime natives", "enabled");
    php_info_print_table_end();
}

static PHP_MINIT_FUNCTION(askr)
{
    askr_tables_minit(register_class_Ephpm_Octane_Table());
    return SUCCESS;
}

zend_module_entry askr_module_entry = {
    STANDARD_MODULE_HEADER,
    "askr",
    ext_functions,
    PHP_MINIT(askr), NULL, NULL,
    PHP_RSHUTDOWN(askr),
    PHP_MINFO(askr),
    "1.0",
    STANDARD_MODULE_PROPERTIES
};
