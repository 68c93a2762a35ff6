<?php

namespace Askr\Octane\Tests\Unit\Server;

use Askr\Octane\Server\ReleasePaths;
use PHPUnit\Framework\TestCase;

class ReleasePathsTest extends TestCase
{
    private string $root;

    protected function setUp(): void
    {
        $this->root = sys_get_temp_dir().'/askr-release-paths-'.bin2hex(random_bytes(4));
        mkdir($this->root.'/releases/7', 0777, true);
        symlink($this->root.'/releases/7', $this->root.'/current');
    }

    protected function tearDown(): void
    {
        unlink($this->root.'/current');
        rmdir($this->root.'/releases/7');
        rmdir($this->root.'/releases');
        rmdir($this->root);
    }

    public function test_artisan_invoked_through_the_release_link_gives_the_linked_base_path(): void
    {
        $resolved = realpath($this->root.'/releases/7');

        $this->assertSame($this->root.'/current', ReleasePaths::basePath($resolved, ['SCRIPT_FILENAME' => $this->root.'/current/artisan']));
        $this->assertSame($this->root.'/current', ReleasePaths::basePath($resolved, ['SCRIPT_FILENAME' => 'artisan', 'PWD' => $this->root.'/current']));
        $this->assertSame($this->root.'/current', ReleasePaths::basePath($resolved, ['SCRIPT_FILENAME' => './artisan', 'PWD' => $this->root.'/current/']));
    }

    public function test_without_a_link_or_with_an_unrelated_script_the_resolved_base_path_stays(): void
    {
        $resolved = realpath($this->root.'/releases/7');

        $this->assertSame($resolved, ReleasePaths::basePath($resolved, ['SCRIPT_FILENAME' => $resolved.'/artisan']));
        $this->assertSame($resolved, ReleasePaths::basePath($resolved, ['SCRIPT_FILENAME' => '/usr/bin/phpunit']));
        $this->assertSame($resolved, ReleasePaths::basePath($resolved, ['SCRIPT_FILENAME' => 'artisan']));
        $this->assertSame($resolved, ReleasePaths::basePath($resolved, []));
    }

    public function test_a_configured_base_path_wins(): void
    {
        $this->assertSame('/srv/app/current', ReleasePaths::basePath('/srv/app/releases/3', ['SCRIPT_FILENAME' => '/x/artisan'], '/srv/app/current/'));
    }

    public function test_paths_under_the_resolved_base_are_mapped_under_the_linked_one(): void
    {
        $this->assertSame('/srv/app/current/public', ReleasePaths::map('/srv/app/releases/3/public', '/srv/app/releases/3', '/srv/app/current'));
        $this->assertSame('/srv/app/current', ReleasePaths::map('/srv/app/releases/3', '/srv/app/releases/3', '/srv/app/current'));
        $this->assertSame('/srv/app/releases/30/public', ReleasePaths::map('/srv/app/releases/30/public', '/srv/app/releases/3', '/srv/app/current'));
        $this->assertSame('/opt/askr/worker.php', ReleasePaths::map('/opt/askr/worker.php', '/srv/app/releases/3', '/srv/app/current'));
    }
}
