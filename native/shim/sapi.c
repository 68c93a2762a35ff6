/*
 * The SAPI module and the engine's lifecycle: startup with askr's ini defaults, one run of the
 * worker script per call, shutdown, the request timeout's interrupt, and the export of the
 * contract (askr_shim.h) that the runtime checks before it uses anything else.
 */
#define _GNU_SOURCE
#include "shim.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <php_main.h>
#include <php_variables.h>
#include <php_ini.h>
#include <SAPI.h>
#include <zend_exceptions.h>

#include "askr_layout.h"

askr_callbacks askr_cb;
static char *g_extra_ini;


static size_t askr_ub_write(const char *str, size_t len)
{
    if (askr_cb.output) {
        askr_cb.output(str, (int64_t)len);
    }
    return len;
}

static void askr_flush(void *server_context)
{
    (void)server_context;
}

static int askr_send_headers(sapi_headers_struct *sapi_headers)
{
    (void)sapi_headers;
    return SAPI_HEADER_SENT_SUCCESSFULLY;
}

/* header() calls are not kept: responses go through send_response() (docs/natives.md). */
static int askr_header_handler(sapi_header_struct *h, sapi_header_op_enum op, sapi_headers_struct *s)
{
    (void)h; (void)op; (void)s;
    return 0;
}

static size_t askr_read_post(char *buf, size_t count)
{
    (void)buf; (void)count;
    return 0;
}

static char *askr_read_cookies(void)
{
    return NULL;
}

static void askr_register_variables(zval *track_vars_array)
{
    php_import_environment_variables(track_vars_array);
    if (SG(request_info).path_translated) {
        const char *p = SG(request_info).path_translated;
        php_register_variable("PHP_SELF", p, track_vars_array);
        php_register_variable("SCRIPT_NAME", p, track_vars_array);
        php_register_variable("SCRIPT_FILENAME", p, track_vars_array);
    }
}

static void askr_log_message(const char *message, int syslog_type_int)
{
    if (askr_cb.log) {
        askr_cb.log(syslog_type_int, message, (int64_t)strlen(message));
    }
}

static int askr_sapi_startup(sapi_module_struct *sapi_module)
{
    return php_module_startup(sapi_module, &askr_module_entry);
}

static int askr_sapi_deactivate(void)
{
    return SUCCESS;
}

static sapi_module_struct askr_sapi_module = {
    "cli-server",                /* name: see docs/natives.md, "The SAPI name" */
    "askr",                      /* pretty name */
    askr_sapi_startup,           /* startup */
    php_module_shutdown_wrapper, /* shutdown */
    NULL,                        /* activate */
    askr_sapi_deactivate,        /* deactivate */
    askr_ub_write,               /* unbuffered write */
    askr_flush,                  /* flush */
    NULL,                        /* get uid */
    NULL,                        /* getenv */
    php_error,                   /* error handler */
    askr_header_handler,         /* header handler */
    askr_send_headers,           /* send headers handler */
    NULL,                        /* send header handler */
    askr_read_post,              /* read POST data */
    askr_read_cookies,           /* read Cookies */
    askr_register_variables,     /* register server variables */
    askr_log_message,            /* Log message */
    NULL,                        /* Get request time */
    NULL,                        /* Child terminate */
    STANDARD_SAPI_MODULE_PROPERTIES
};

/* ---------- entry points ---------- */

/* Every sizeof, offsetof and constant of askr_shim.h, as this build sees them (askr_shim.h). */
#define ASKR_CONTRACT_S(type) { #type, (int64_t)sizeof(type), ASKR_CONTRACT_STRUCT, 0 },
#define ASKR_CONTRACT_F(type, field) { #type "." #field, (int64_t)offsetof(type, field), ASKR_CONTRACT_FIELD, (int32_t)sizeof(((type *)0)->field) },
#define ASKR_CONTRACT_C(name) { #name, (int64_t)(name), ASKR_CONTRACT_CONSTANT, 0 },
static const askr_contract_entry askr_contract[] = {
    ASKR_LAYOUT(ASKR_CONTRACT_S, ASKR_CONTRACT_F)
    ASKR_CONSTANTS(ASKR_CONTRACT_C)
};

const askr_contract_entry *askr_shim_contract(int64_t *count)
{
    *count = (int64_t)(sizeof askr_contract / sizeof askr_contract[0]);
    return askr_contract;
}

/* Defaults that worker mode needs (docs/architecture.md, "The PHP ⇄ C# seam"): no CPU-time
 * limit (NTS counts the whole process and _exit()s it), OPcache on, errors to the log. */
static const char askr_base_ini[] =
    "max_execution_time=0\n"
    "max_input_time=-1\n"
    "html_errors=0\n"
    "display_errors=0\n"
    "log_errors=1\n"
    "implicit_flush=0\n"
    "output_buffering=0\n"
    "register_argc_argv=1\n"
    "opcache.enable=1\n"
    "opcache.enable_cli=1\n";

int32_t askr_php_startup(const askr_callbacks *callbacks, const char *sapi_name, const char *extra_ini)
{
    /* libphp must be global, or shared extensions fail with undefined symbols. */
    Dl_info info;
    if (!dladdr((void *)&php_module_startup, &info) || !info.dli_fname
        || !dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD)) {
        return -1;
    }
    askr_cb = *callbacks;
    if (sapi_name && *sapi_name) {
        askr_sapi_module.name = strdup(sapi_name);
    }
    size_t extra_len = extra_ini ? strlen(extra_ini) : 0;
    g_extra_ini = malloc(sizeof(askr_base_ini) + extra_len + 2);
    memcpy(g_extra_ini, askr_base_ini, sizeof(askr_base_ini) - 1);
    memcpy(g_extra_ini + sizeof(askr_base_ini) - 1, extra_ini ? extra_ini : "", extra_len);
    g_extra_ini[sizeof(askr_base_ini) - 1 + extra_len] = '\n';
    g_extra_ini[sizeof(askr_base_ini) + extra_len] = '\0';

#ifdef ZEND_SIGNALS
    /* Records the handlers .NET installed; installs none of its own for SIGTERM/SIGINT/SIGHUP. */
    zend_signal_startup();
#endif
    sapi_startup(&askr_sapi_module);
    askr_sapi_module.ini_entries = g_extra_ini;
    askr_sapi_module.phpinfo_as_text = 1;
    askr_sapi_module.php_ini_ignore_cwd = 1;
    if (askr_sapi_module.startup(&askr_sapi_module) == FAILURE) {
        return -2;
    }
    return 0;
}

/* STDIN, STDOUT and STDERR, as the CLI SAPI defines them (Octane and dd() write to STDERR).
 * Registered per request, as non-persistent constants, on fds 0-2 themselves as the CLI does:
 * php://stdin and friends dup() the fd under any SAPI but "cli", and a stream flagged NO_CLOSE
 * never closes its fd, so every run of the worker script (after a fatal error, exit()...) would
 * leak three dups. NO_CLOSE keeps fclose(STDERR) in PHP from closing the process's fd 2. */
static void register_std_stream(const char *name, int fd, const char *mode)
{
    php_stream *stream = php_stream_fopen_from_fd(fd, mode, NULL);
    if (!stream) {
        return;
    }
    stream->flags |= PHP_STREAM_FLAG_NO_CLOSE;
    zend_constant c;
    php_stream_to_zval(stream, &c.value);
    ZEND_CONSTANT_SET_FLAGS(&c, CONST_CS, 0);
    c.name = zend_string_init_interned(name, strlen(name), 0);
    zend_register_constant(&c);
}

static void register_std_streams(void)
{
    register_std_stream("STDIN", STDIN_FILENO, "rb");
    register_std_stream("STDOUT", STDOUT_FILENO, "wb");
    register_std_stream("STDERR", STDERR_FILENO, "wb");
}

/* The last error of the last run, kept past its request shutdown (askr_php_last_error). */
static struct {
    int32_t type;
    char message[2048];
    char file[1024];
    int64_t line;
} last_error;

static void keep_last_error(void)
{
    last_error.type = PG(last_error_type);
    last_error.line = PG(last_error_lineno);
    snprintf(last_error.message, sizeof last_error.message, "%s", PG(last_error_message) ? ZSTR_VAL(PG(last_error_message)) : "");
    snprintf(last_error.file, sizeof last_error.file, "%s", PG(last_error_file) ? ZSTR_VAL(PG(last_error_file)) : "");
    if (!PG(last_error_message)) last_error.type = 0;
}

int32_t askr_php_last_error(askr_str *message, askr_str *file, int64_t *line)
{
    message->ptr = last_error.message;
    message->len = (int64_t)strlen(last_error.message);
    file->ptr = last_error.file;
    file->len = (int64_t)strlen(last_error.file);
    *line = last_error.line;
    return last_error.type;
}

int32_t askr_php_run(const char *script_path, int32_t *exit_status)
{
    volatile int32_t result = ASKR_RUN_OK;
    static char *argv[3];
    argv[0] = (char *)script_path;
    argv[1] = NULL;
    argv[2] = NULL;
    /* A background worker's name is its argv[1] (docs/background-workers.md), as in FrankenPHP. */
    char *background = getenv("ASKR_BACKGROUND_WORKER");
    if (background && *background) argv[1] = background;
    memset(&last_error, 0, sizeof last_error);
    SG(options) |= SAPI_OPTION_NO_CHDIR;
    SG(request_info).argc = argv[1] ? 2 : 1;
    SG(request_info).argv = argv;
    SG(request_info).path_translated = (char *)script_path;
    SG(request_info).request_method = NULL;
    askr_request = ASKR_NONE;
    if (php_request_startup() == FAILURE) {
        *exit_status = 255;
        return ASKR_RUN_STARTUP_FAILED;
    }
    SG(headers_sent) = 1;
    SG(request_info).no_headers = 1;
    register_std_streams();

    zend_file_handle fh;
    zend_stream_init_filename(&fh, script_path);
    zend_first_try {
        php_execute_script(&fh);
        /* A script that ended normally still runs what it deferred (defer.c). */
        if (EG(exit_status) == 0 && !EG(exception)) {
            int64_t ran;
            askr_deferred_run(false, &ran);
            if (EG(exception)) {
                zend_exception_error(EG(exception), E_WARNING);
            }
        }
    } zend_catch {
        result = ASKR_RUN_BAILOUT;
    } zend_end_try();
    zend_destroy_file_handle(&fh);
    *exit_status = EG(exit_status);
    /* A streamed response left open by a script that ended normally is ended for the client;
     * after a fatal error (bailout, or an uncaught exception: exit status 255) C# cuts it. */
    if (askr_request == ASKR_STREAMING && result == ASKR_RUN_OK && EG(exit_status) == 0) {
        askr_cb.chunk(NULL, 0, 1);
    }
    askr_request = ASKR_NONE;
    keep_last_error();
    php_request_shutdown(NULL);
    SG(request_info).path_translated = NULL;
    return result;
}

void askr_php_shutdown(void)
{
    php_module_shutdown();
    sapi_shutdown();
}

void askr_php_interrupt(int64_t seconds)
{
    EG(timeout_seconds) = (zend_long)seconds;
    zend_atomic_bool_store_ex(&EG(timed_out), true);
    zend_atomic_bool_store_ex(&EG(vm_interrupt), true);
}

int64_t askr_php_memory_usage(void)
{
    return (int64_t)zend_memory_usage(0);
}
