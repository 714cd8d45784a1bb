// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${ssh_public_key} is Terraform template syntax, not a JS template.
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRepoFile, repoRoot } from './pipeline-files.ts';

/** Where Terraform's user data installs the host scripts and the gate's configuration. */
export const HOST_SCRIPTS_DIR = '/usr/local/libexec/deploybot';
export const HOST_GATE_CONFIG = '/etc/deploybot/gate.conf';

/**
 * A host script as Terraform installs it (terraform/compute.tf, `host_scripts`): without its comment
 * lines, the shebang kept, so that user data fits in 16 KB once gzipped.
 */
export function asInstalled(text: string): string {
  return text
    .replace(/\n+$/, '')
    .split('\n')
    .filter((line) => !/^\s*#($|[^!])/.test(line))
    .join('\n');
}

/**
 * Writes every script of scripts/ as Terraform installs it into `dir`/libexec (what the tests'
 * gate runs), and returns that directory.
 */
export function installScripts(dir: string): string {
  const target = join(dir, 'libexec');
  mkdirSync(target, { recursive: true });
  for (const name of readdirSync(join(repoRoot, 'scripts'))) {
    writeFileSync(join(target, name), `${asInstalled(readRepoFile(`scripts/${name}`))}\n`);
    chmodSync(join(target, name), 0o755);
  }
  return target;
}

/**
 * The deploy key's authorized_keys line exactly as terraform/user-data.sh.tftpl writes it on a
 * host, with the installed paths pointed at `scriptsDir` (by default this checkout's scripts/; the
 * host tests pass {@link installScripts}'s copies) and the test's config file. The tests use this
 * line, so dropping `restrict` or the forced command from the template fails them.
 * @throws {Error} when the template no longer has one such line.
 */
export function authorizedKeyLine(
  publicKey: string,
  configFile: string,
  scriptsDir = join(repoRoot, 'scripts'),
): string {
  const template = readRepoFile('terraform/user-data.sh.tftpl');
  const lines = template.split('\n').filter((line) => line.endsWith(' ${ssh_public_key}'));
  if (lines.length !== 1 || !lines[0]) {
    throw new Error('terraform/user-data.sh.tftpl must write exactly one authorized_keys line for the key');
  }
  const installed = `command="${HOST_SCRIPTS_DIR}/deploybot-ssh-gate ${HOST_GATE_CONFIG}",`;
  if (!lines[0].startsWith(installed)) {
    throw new Error(`the key's line must start with ${installed}`);
  }
  return lines[0]
    .replace(`${HOST_SCRIPTS_DIR}/`, `${scriptsDir}/`)
    .replace(HOST_GATE_CONFIG, configFile)
    .replace('${ssh_public_key}', publicKey);
}

/** Writes a gate configuration (KEY=value lines) readable by all, writable by its owner only. */
export function writeGateConfig(file: string, settings: Record<string, string>): string {
  const text = Object.entries(settings)
    .map(([key, value]) => `${key}=${value}\n`)
    .join('');
  writeFileSync(file, text, { mode: 0o644 });
  return file;
}
