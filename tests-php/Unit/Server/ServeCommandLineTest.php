<?php

namespace Askr\Octane\Tests\Unit\Server;

use Askr\Octane\Server\ServeCommandLine;
use InvalidArgumentException;
use PHPUnit\Framework\TestCase;

class ServeCommandLineTest extends TestCase
{
    private function options(array $overrides = []): array
    {
        return $overrides + [
            'binary' => '/opt/askr/askr',
            'root' => '/srv/app/public',
            'workerScript' => '/srv/app/vendor/askr/octane-driver/bin/askr-worker.php',
            'host' => '127.0.0.1',
            'port' => '8000',
            'workers' => '4',
            'maxRequests' => '500',
            'adminPort' => 9100,
            'logLevel' => null,
        ];
    }

    public function test_octane_options_map_to_askr_serve_arguments(): void
    {
        $this->assertSame([
            '/opt/askr/askr', 'serve',
            '--root', '/srv/app/public',
            '--worker-script', '/srv/app/vendor/askr/octane-driver/bin/askr-worker.php',
            '--host', '127.0.0.1',
            '--port', '8000',
            '--workers', '4',
            '--max-requests', '500',
            '--admin-port', '9100',
            '--log-format', 'json',
        ], ServeCommandLine::arguments($this->options()));
    }

    public function test_pusher_connection_cap_and_webhooks_are_passed_from_the_config(): void
    {
        $arguments = ServeCommandLine::arguments($this->options() + [
            'pusherMaxConnections' => '500',
            'pusherWebhooks' => ['https://hooks.example/all?sig=1', '7=http://127.0.0.1:9000/pusher'],
        ]);
        $this->assertSame('500', $arguments[array_search('--pusher-max-connections', $arguments, true) + 1]);
        $hooks = array_values(array_map(fn ($i) => $arguments[$i + 1], array_keys($arguments, '--pusher-webhook', true)));
        $this->assertSame(['https://hooks.example/all?sig=1', '7=http://127.0.0.1:9000/pusher'], $hooks);

        // One URL for every app, or a map of app id => URL; 0 or nothing: no cap and no option.
        $this->assertSame(['https://h.example/'], ServeCommandLine::pusherWebhooks('https://h.example/'));
        $this->assertSame(['7=https://a.example/', 'app-b=https://b.example/'], ServeCommandLine::pusherWebhooks(['7' => 'https://a.example/', 'app-b' => 'https://b.example/']));
        $plain = ServeCommandLine::arguments($this->options() + ['pusherMaxConnections' => 0, 'pusherWebhooks' => null]);
        $this->assertNotContains('--pusher-max-connections', $plain);
        $this->assertNotContains('--pusher-webhook', $plain);
    }

    public function test_a_bad_pusher_cap_or_webhook_is_refused_with_what_is_wrong(): void
    {
        try {
            ServeCommandLine::arguments($this->options() + ['pusherMaxConnections' => '-3']);
            $this->fail('a negative cap was accepted');
        } catch (InvalidArgumentException $e) {
            $this->assertStringContainsString('octane.askr.pusher_max_connections must be a number of connections (0: no cap), [-3] given.', $e->getMessage());
        }

        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('octane.askr.pusher_webhooks: [1=ftp://x] is not an http(s) URL (or ID=URL).');
        ServeCommandLine::pusherWebhooks(['1' => 'ftp://x']);
    }

    public function test_request_lines_follow_octanes_rules_for_when_they_are_shown(): void
    {
        // Swoole: local and testing only; RoadRunner / FrankenPHP: info level, or an explicit --log-level.
        $this->assertTrue(ServeCommandLine::showsRequestLines('local', null));
        $this->assertTrue(ServeCommandLine::showsRequestLines('testing', null));
        $this->assertFalse(ServeCommandLine::showsRequestLines('production', null));
        $this->assertFalse(ServeCommandLine::showsRequestLines('staging', 'warn'));
        $this->assertTrue(ServeCommandLine::showsRequestLines('production', 'info'));
        $this->assertTrue(ServeCommandLine::showsRequestLines('production', 'DEBUG'));
    }

    public function test_no_request_lines_means_no_access_log_in_askr(): void
    {
        $this->assertContains('--no-access-log', ServeCommandLine::arguments($this->options(['accessLog' => false])));
        $this->assertNotContains('--no-access-log', ServeCommandLine::arguments($this->options(['accessLog' => true])));
    }

    public function test_recording_of_errors_is_passed_with_its_options_when_a_directory_is_configured(): void
    {
        $arguments = ServeCommandLine::arguments($this->options(['recordErrors' => [
            'directory' => 'storage/askr-errors', 'sensitive' => true, 'redact' => ['ssn', 'card_number'], 'max_files' => '50', 'max_bytes' => null,
        ]]));

        $this->assertSame(['--record-errors', 'storage/askr-errors', '--record-sensitive', '--record-redact', 'ssn,card_number', '--record-max-files', '50'],
            array_slice($arguments, array_search('--record-errors', $arguments, true), 7));
        $this->assertNotContains('--record-errors', ServeCommandLine::arguments($this->options(['recordErrors' => ['directory' => null, 'sensitive' => true]])));
    }

    public function test_a_record_cap_that_is_not_a_positive_number_is_refused(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('--record-max-files must be a positive number');

        ServeCommandLine::arguments($this->options(['recordErrors' => ['directory' => '/tmp/x', 'max_files' => '0']]));
    }

    public function test_task_workers_are_passed_when_given(): void
    {
        $this->assertSame(['--task-workers', '3'], array_slice(ServeCommandLine::arguments($this->options(['taskWorkers' => 3])), -2));
        $this->assertSame(['--task-workers', '0'], array_slice(ServeCommandLine::arguments($this->options(['taskWorkers' => '0'])), -2));
        $this->assertNotContains('--task-workers', ServeCommandLine::arguments($this->options()));
    }

    public function test_task_workers_auto_is_one_per_core_and_zero_means_none(): void
    {
        $cores = fn () => 6;

        $this->assertSame(6, ServeCommandLine::taskWorkers('auto', $cores));
        $this->assertSame(6, ServeCommandLine::taskWorkers(null, $cores));
        $this->assertSame(6, ServeCommandLine::taskWorkers('', $cores));
        $this->assertSame(0, ServeCommandLine::taskWorkers('0', $cores));
        $this->assertSame(2, ServeCommandLine::taskWorkers(2, $cores));
        $this->assertGreaterThanOrEqual(1, ServeCommandLine::cores());
    }

    public function test_task_workers_refuse_anything_else(): void
    {
        foreach (['-1', 'many', '1.5'] as $value) {
            try {
                ServeCommandLine::taskWorkers($value);
                $this->fail("--task-workers={$value} was accepted");
            } catch (InvalidArgumentException $e) {
                $this->assertStringContainsString('--task-workers must be auto, 0 (none) or a positive number', $e->getMessage());
            }
        }
    }

    public function test_the_tables_file_and_the_resp_port_are_passed_when_given(): void
    {
        $arguments = ServeCommandLine::arguments($this->options(['tables' => '/srv/app/storage/logs/askr-tables.json', 'respPort' => '6380']));

        $this->assertSame(['--tables', '/srv/app/storage/logs/askr-tables.json', '--resp-port', '6380'], array_slice($arguments, -4));

        $none = ServeCommandLine::arguments($this->options(['tables' => null, 'respPort' => '']));
        $this->assertNotContains('--tables', $none);
        $this->assertNotContains('--resp-port', $none);
    }

    public function test_cluster_settings_are_passed_when_a_cluster_port_is_given_and_the_secret_never_is(): void
    {
        $arguments = ServeCommandLine::arguments($this->options(['cluster' => [
            'port' => '7946', 'host' => '10.0.0.2', 'advertise' => 'node2:7946', 'seeds' => 'node1:7946', 'secret' => 'do-not-show-me-in-ps',
        ]]));

        $this->assertSame(['--cluster-port', '7946', '--cluster-host', '10.0.0.2', '--cluster-advertise', 'node2:7946', '--seeds', 'node1:7946'], array_slice($arguments, -8));
        $this->assertNotContains('do-not-show-me-in-ps', $arguments);

        $alone = ServeCommandLine::arguments($this->options(['cluster' => ['port' => null, 'seeds' => 'node1:7946']]));
        $this->assertNotContains('--cluster-port', $alone);
        $this->assertNotContains('--seeds', $alone);
    }

    public function test_pusher_apps_are_passed_as_id_key_secret(): void
    {
        $arguments = ServeCommandLine::arguments($this->options(['pusherApps' => [
            ['app_id' => 'app1', 'key' => 'key1', 'secret' => 'se:cret'],
            ['app_id' => 2, 'key' => 'key2', 'secret' => 's2'],
        ]]));

        $this->assertSame(['--pusher-app', 'app1:key1:se:cret', '--pusher-app', '2:key2:s2'], array_slice($arguments, -4));
    }

    public function test_a_pusher_app_without_its_secret_or_with_a_colon_in_its_key_is_refused(): void
    {
        foreach ([['app_id' => '1', 'key' => 'k'], ['app_id' => '1', 'key' => 'k:x', 'secret' => 's']] as $app) {
            try {
                ServeCommandLine::arguments($this->options(['pusherApps' => [$app]]));
                $this->fail('accepted '.json_encode($app));
            } catch (InvalidArgumentException $e) {
                $this->assertStringContainsString('Pusher app', $e->getMessage());
            }
        }
    }

    public function test_a_resp_port_must_be_a_port_number(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('--resp-port must be a positive number, [redis] given.');

        ServeCommandLine::arguments($this->options(['respPort' => 'redis']));
    }

    public function test_auto_workers_leave_the_count_to_askr(): void
    {
        $this->assertNotContains('--workers', ServeCommandLine::arguments($this->options(['workers' => 'auto'])));
    }

    public function test_workers_min_and_max_autoscale_instead_of_a_fixed_count(): void
    {
        $arguments = ServeCommandLine::arguments($this->options(['workers' => 'auto', 'workersMin' => '2', 'workersMax' => 8, 'workersSpare' => '1']));

        $this->assertNotContains('--workers', $arguments);
        $this->assertSame(['--workers-min', '2', '--workers-max', '8', '--workers-spare', '1'],
            array_slice($arguments, array_search('--workers-min', $arguments, true), 6));
        $this->assertNotContains('--workers-min', ServeCommandLine::arguments($this->options(['workersMin' => null, 'workersMax' => ''])));
    }

    /**
     * @return array<string, array{0: array, 1: string}>
     */
    public static function invalidAutoscaling(): array
    {
        return [
            'min above max' => [['workers' => 'auto', 'workersMin' => 4, 'workersMax' => 2], 'workers_min (4) is more than octane.askr.workers_max (2)'],
            'max alone' => [['workers' => 'auto', 'workersMax' => 4], 'needs both'],
            'a fixed count as well' => [['workers' => '4', 'workersMin' => 1, 'workersMax' => 4], '--workers=4 is a fixed count'],
            'min zero' => [['workers' => 'auto', 'workersMin' => 0, 'workersMax' => 4], '--workers-min must be a positive number'],
        ];
    }

    /**
     * @dataProvider invalidAutoscaling
     */
    public function test_autoscaling_config_askr_would_reject_fails_before_starting_it(array $override, string $message): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage($message);

        ServeCommandLine::arguments($this->options($override));
    }

    public function test_zero_max_requests_is_passed_as_never_recycle(): void
    {
        $arguments = ServeCommandLine::arguments($this->options(['maxRequests' => '0']));

        $this->assertSame('0', $arguments[array_search('--max-requests', $arguments, true) + 1]);
    }

    public function test_log_levels_use_askr_names(): void
    {
        foreach (['warn' => 'warning', 'WARNING' => 'warning', 'debug' => 'debug', 'error' => 'error'] as $given => $expected) {
            $arguments = ServeCommandLine::arguments($this->options(['logLevel' => $given]));

            $this->assertSame(['--log-level', $expected], array_slice($arguments, -2), "for {$given}");
        }
    }

    public function test_logs_are_always_json_for_octanes_console(): void
    {
        $arguments = ServeCommandLine::arguments($this->options());

        $this->assertSame('json', $arguments[array_search('--log-format', $arguments, true) + 1]);
    }

    /**
     * @return array<string, array{0: array}>
     */
    public static function invalidOptions(): array
    {
        return [
            'port zero' => [['port' => '0']],
            'port text' => [['port' => 'http']],
            'workers negative' => [['workers' => '-2']],
            'max requests negative' => [['maxRequests' => '-1']],
            'admin port text' => [['adminPort' => 'x']],
            'unknown log level' => [['logLevel' => 'chatty']],
        ];
    }

    /**
     * @dataProvider invalidOptions
     */
    public function test_values_askr_would_reject_fail_before_starting_it(array $override): void
    {
        $this->expectException(InvalidArgumentException::class);

        ServeCommandLine::arguments($this->options($override));
    }

    public function test_https_serves_the_port_with_tls_and_the_plain_port_only_to_redirect(): void
    {
        $https = ServeCommandLine::arguments($this->options(['tls' => ['https' => true, 'certificate' => '/etc/ssl/app.pem', 'key' => '/etc/ssl/app.key']]));
        $this->assertSame(['--https-port', '8000', '--certificate', '/etc/ssl/app.pem', '--key', '/etc/ssl/app.key', '--no-http'], array_slice($https, 8, 7));
        $this->assertNotContains('--port', $https);

        $redirect = ServeCommandLine::arguments($this->options(['tls' => ['https' => true, 'httpRedirect' => true, 'httpPort' => '8080', 'hstsMaxAge' => '600']]));
        $this->assertSame(['--https-port', '8000', '--https-dev', '--port', '8080', '--http-redirect', '--hsts-max-age', '600'], array_slice($redirect, 8, 8));

        $default = ServeCommandLine::arguments($this->options(['tls' => ['https' => true, 'httpRedirect' => true]]));
        $this->assertSame(['--port', '80', '--http-redirect'], array_slice($default, 11, 3), 'plain HTTP on 80 by default, as Caddy redirects');
    }

    public function test_http_redirect_without_https_is_refused(): void
    {
        $this->expectException(InvalidArgumentException::class);
        $this->expectExceptionMessage('--http-redirect redirects plain HTTP to HTTPS: give --https as well.');

        ServeCommandLine::arguments($this->options(['tls' => ['https' => false, 'httpRedirect' => true]]));
    }
}
