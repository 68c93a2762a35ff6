<?php

namespace Askr\Octane\Tests\Unit\Askr;

use Askr\Octane\Askr\ServeCommandLine;
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

    public function test_the_tables_file_and_the_resp_port_are_passed_when_given(): void
    {
        $arguments = ServeCommandLine::arguments($this->options(['tables' => '/srv/app/storage/logs/askr-tables.json', 'respPort' => '6380']));

        $this->assertSame(['--tables', '/srv/app/storage/logs/askr-tables.json', '--resp-port', '6380'], array_slice($arguments, -4));

        $none = ServeCommandLine::arguments($this->options(['tables' => null, 'respPort' => '']));
        $this->assertNotContains('--tables', $none);
        $this->assertNotContains('--resp-port', $none);
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
}
