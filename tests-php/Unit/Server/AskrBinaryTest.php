<?php

namespace Askr\Octane\Tests\Unit\Server;

use Askr\Octane\Server\AskrBinary;
use PHPUnit\Framework\TestCase;
use RuntimeException;
use Symfony\Component\Process\ExecutableFinder;

class AskrBinaryTest extends TestCase
{
    private string $directory;

    protected function setUp(): void
    {
        $this->directory = sys_get_temp_dir().'/askr-binary-'.bin2hex(random_bytes(4));
        mkdir($this->directory.'/path', 0777, true);
        mkdir($this->directory.'/app');
    }

    protected function tearDown(): void
    {
        foreach (['path/askr', 'app/askr', 'configured', 'env', 'not-executable'] as $file) {
            @unlink($this->directory.'/'.$file);
        }

        @rmdir($this->directory.'/path');
        @rmdir($this->directory.'/app');
        @rmdir($this->directory);
    }

    private function executable(string $relative, int $mode = 0755): string
    {
        file_put_contents($path = $this->directory.'/'.$relative, "#!/bin/sh\n");
        chmod($path, $mode);

        return $path;
    }

    private function finderOn(?string $found): ExecutableFinder
    {
        return new class($found) extends ExecutableFinder
        {
            public function __construct(private ?string $found)
            {
            }

            public function find(string $name, ?string $default = null, array $extraDirs = [])
            {
                return $name === 'askr' ? $this->found : $default;
            }
        };
    }

    public function test_the_configured_binary_comes_first(): void
    {
        $configured = $this->executable('configured');
        $this->executable('env');

        $binary = new AskrBinary($configured, $this->directory.'/env', $this->directory.'/app', $this->finderOn($this->executable('path/askr')));

        $this->assertSame($configured, $binary->find());
    }

    public function test_askr_binary_from_the_environment_comes_before_the_path(): void
    {
        $env = $this->executable('env');

        $binary = new AskrBinary(null, $env, $this->directory.'/app', $this->finderOn($this->executable('path/askr')));

        $this->assertSame($env, $binary->find());
    }

    public function test_the_path_comes_before_the_application_directory(): void
    {
        $onPath = $this->executable('path/askr');
        $this->executable('app/askr');

        $this->assertSame($onPath, (new AskrBinary(null, null, $this->directory.'/app', $this->finderOn($onPath)))->find());
    }

    public function test_the_path_is_searched_for_an_executable_named_askr(): void
    {
        $onPath = $this->executable('path/askr');
        $previous = getenv('PATH');
        putenv('PATH='.$this->directory.'/path');

        try {
            $this->assertSame($onPath, (new AskrBinary(null, null, $this->directory.'/app'))->find());
        } finally {
            putenv('PATH='.$previous);
        }
    }

    public function test_the_application_directory_is_the_last_resort(): void
    {
        $local = $this->executable('app/askr');

        $this->assertSame($local, (new AskrBinary('', '', $this->directory.'/app', $this->finderOn(null)))->find());
    }

    public function test_a_configured_path_that_is_not_executable_is_not_silently_replaced(): void
    {
        $this->executable('not-executable', 0644);
        $this->executable('app/askr');

        $binary = new AskrBinary($this->directory.'/not-executable', null, $this->directory.'/app', $this->finderOn(null));

        $this->assertNull($binary->find());
        $this->expectExceptionMessage('config octane.askr.binary points at ['.$this->directory.'/not-executable], which is not an executable file');
        $binary->findOrFail();
    }

    public function test_a_missing_binary_is_reported_with_how_to_install_it(): void
    {
        $binary = new AskrBinary(null, null, $this->directory.'/app', $this->finderOn(null));

        try {
            $binary->findOrFail();
            $this->fail('findOrFail() should throw.');
        } catch (RuntimeException $e) {
            $this->assertStringContainsString('The askr runtime binary is missing', $e->getMessage());
            $this->assertStringContainsString('scripts/setup.sh', $e->getMessage());
            $this->assertStringContainsString('ASKR_BINARY', $e->getMessage());
            $this->assertStringContainsString('build/askr/askr', $e->getMessage());
        }
    }
}
