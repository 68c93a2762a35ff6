<?php

use App\Support\Basket;
use Illuminate\Http\Request;
use Illuminate\Support\Facades\App;
use Illuminate\Support\Facades\Auth;
use Illuminate\Support\Facades\Route;
use Illuminate\Support\Facades\Storage;
use Illuminate\Support\Str;

/*
| Routes of the askr example. Each one exercises something a long-lived worker can get
| wrong; tests-php/Feature drives them end to end.
*/

Route::get('/', fn () => 'askr example: see routes/web.php');

// JSON through the whole web middleware group (session, cookies, CSRF): also the benchmark route.
Route::get('/json', fn () => response()->json(['hello' => 'world']));

// boot: a random id per application boot, to tell a worker that booted the app again (max requests) from one that did not.
Route::get('/pid', fn () => ['pid' => getmypid(), 'slot' => getenv('ASKR_WORKER_SLOT') ?: null, 'boot' => app('example.boot_id')]);

// Which laravel/octane source the worker runs (tests-php runs the app on 1.5.6 and on 2.x, see OCTANE_PATH).
Route::get('/octane-source', fn () => [
    'path' => dirname((new ReflectionClass(Laravel\Octane\Octane::class))->getFileName(), 2),
    'frankenphp' => class_exists(Laravel\Octane\FrankenPhp\FrankenPhpClient::class),
]);

Route::get('/boom', function () {
    throw new RuntimeException('boom: this message must not reach the client');
});

// What the application echoes is sent before the response body, as under Octane's other servers.
Route::get('/echo', function () {
    echo 'echoed-';

    return 'returned';
});

Route::get('/request-info', fn (Request $request) => [
    'method' => $request->method(),
    'secure' => $request->secure(),
    'ip' => $request->ip(),
    'url' => $request->fullUrl(),
    'query' => $request->query(),
]);

Route::post('/csrf-protected', fn () => ['ok' => true]);

Route::get('/session/counter', function (Request $request) {
    $counter = $request->session()->get('counter', 0) + 1;
    $request->session()->put('counter', $counter);

    return ['counter' => $counter];
});

Route::post('/login', function (Request $request) {
    $credentials = $request->validate([
        'email' => 'required|email',
        'password' => 'required',
    ]);

    if (! Auth::attempt($credentials)) {
        return response()->json(['error' => 'invalid credentials'], 401);
    }

    $request->session()->regenerate();

    return ['user' => Auth::user()->email];
});

Route::post('/logout', function (Request $request) {
    Auth::logout();
    $request->session()->invalidate();

    return ['user' => null];
});

Route::get('/whoami', fn () => ['user' => Auth::user()?->email]);

Route::get('/locale', function (Request $request) {
    if ($request->has('set')) {
        App::setLocale($request->query('set'));
    }

    return ['locale' => App::getLocale()];
});

Route::get('/config', function (Request $request) {
    if ($request->has('set')) {
        config(['app.example_value' => $request->query('set')]);
    }

    return ['value' => config('app.example_value')];
});

Route::get('/singleton', function (Request $request, Basket $basket) {
    if ($request->has('add')) {
        $basket->add($request->query('add'));
    }

    return ['items' => $basket->items()];
});

Route::get('/cookies/set', fn (Request $request) => response()
    ->json(['set' => true])
    ->cookie('flavour', $request->query('value', 'oatmeal'), 60));

Route::get('/cookies/read', fn (Request $request) => [
    'flavour' => $request->cookie('flavour'),
    'plain' => $request->cookie('plain'),
]);

// Stores the upload, moves it, and reports what arrived; "extra" is left alone, so the
// driver must delete its temporary file after the request.
Route::post('/upload', function (Request $request) {
    $request->validate([
        'document' => 'required|file|max:4096',
        'photos' => 'array',
        'photos.*' => 'file',
    ]);

    $document = $request->file('document');
    $stored = $document->store('uploads');
    $storedHash = hash_file('sha256', Storage::path($stored));
    $moved = $document->move(storage_path('app/moved'), Str::random(8).'-'.$document->getClientOriginalName());

    return [
        'name' => $document->getClientOriginalName(),
        'mime' => $document->getClientMimeType(),
        'size' => $moved->getSize(),
        'sha256' => $storedHash,
        'moved_sha256' => hash_file('sha256', $moved->getPathname()),
        'photos' => count($request->file('photos', [])),
        'title' => $request->input('title'),
        'extra_temp_path' => $request->file('extra')?->getPathname(),
    ];
});

// Chunks flushed one by one. With ?gate=<token> the last chunk waits (up to 10 s) until
// storage/app/gates/<token> exists, so a client can prove it saw the first chunk before
// the last one was produced; without, chunks come 200 ms apart.
Route::get('/stream', function (Request $request) {
    $gate = $request->query('gate') ? storage_path('app/gates/'.basename($request->query('gate'))) : null;

    return response()->stream(function () use ($gate) {
        echo "first\n";
        flush();

        if ($gate !== null) {
            $deadline = microtime(true) + 10;

            while (! is_file($gate) && microtime(true) < $deadline) {
                usleep(10_000);
            }

            echo is_file($gate) ? "gate opened\n" : "gate timed out\n";
        } else {
            foreach (range(2, 5) as $chunk) {
                usleep(200_000);
                echo "chunk {$chunk}\n";
                flush();
            }
        }

        echo "last\n";
    }, 200, ['Content-Type' => 'text/plain; charset=UTF-8', 'X-Accel-Buffering' => 'no']);
});

// A BinaryFileResponse (ranges supported): 65536 lines "%08d\n", 589824 bytes.
Route::get('/download', function () {
    $path = storage_path('app/numbers.txt');

    if (! is_file($path)) {
        $temporary = $path.'.'.getmypid();
        file_put_contents($temporary, implode('', array_map(fn ($i) => sprintf("%08d\n", $i), range(0, 65535))));
        rename($temporary, $path);
    }

    return response()->download($path, 'numbers.txt', ['Content-Type' => 'text/plain']);
});

// askr's response cache (docs/response-cache.md): served from shared memory after the first
// anonymous request, until the ttl passes or the tag is purged. The id changes with every run of PHP.
Route::get('/cached/posts', fn () => ['id' => Str::random(16), 'at' => microtime(true)])->middleware('askr.cache:60,tags=posts');
Route::get('/cached/users', fn () => ['id' => Str::random(16)])->middleware('askr.cache:60,tags=users|people');

// Broadcasts App\Events\ExampleBroadcast (ShouldBroadcastNow) to one channel: kind public|private|presence.
Route::post('/broadcast', function (Request $request) {
    $event = new \App\Events\ExampleBroadcast($request->input('kind', 'public'), $request->input('channel'), $request->input('message', ''));
    if ($request->input('socket_id')) {
        $event->socket = $request->input('socket_id');
    }
    event($event);

    return ['broadcast' => true];
});

// Defer after send (docs/lifecycle.md): the response goes out first; then, in order, a slow
// callback that still sees this request (request()->query('tag')), one that throws (reported
// through the exception handler), and one more that runs all the same. The tests read the file.
Route::get('/defer', function (Request $request) {
    $tag = (string) $request->query('tag');
    abort_unless(ctype_alnum($tag), 422, 'tag: letters and digits only');
    $file = storage_path("framework/defer-{$tag}.log");
    $note = static fn (string $what) => file_put_contents($file, json_encode([
        'what' => $what, 'tag' => request()->query('tag'), 'at' => microtime(true),
    ])."\n", FILE_APPEND);

    Askr\Octane\defer(function () use ($note) {
        usleep(300_000);
        $note('slow');
    });
    Askr\Octane\defer(fn () => throw new RuntimeException("deferred failure {$tag}"));
    Askr\Octane\defer(fn () => $note('after-failure'));

    return ['answered_at' => microtime(true)];
});
