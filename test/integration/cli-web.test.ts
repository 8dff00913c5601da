// The built binary honours --web.config.file (TLS + basic auth): the flag is wired through
// cli/run.ts, not only parsed. (The web layer itself, --web.max-requests included, is tested in
// depth in-process by web-config.test.ts and web-limits.test.ts.)
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { MAIN, eventually } from '../helpers/exporter.js';
import { TestPki } from '../helpers/test-certs.js';

interface Started {
  child: ChildProcess;
  port: number;
  log: () => string;
}

async function start(args: string[]): Promise<Started> {
  const child = spawn(process.execPath, [MAIN, '--web.listen-address=127.0.0.1:0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr!.on('data', (c: string) => {
      stderr += c;
      const m = /msg="linkstate-exporter started".* address=127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
  });
  return { child, port, log: () => stderr };
}

function get(port: number, ca: Buffer, path: string, auth?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, ca, headers: auth === undefined ? {} : { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function getHttp(port: number, path: string): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function runToExit(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, '--web.listen-address=127.0.0.1:0', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  // An exporter that starts instead of refusing is stopped, and the test fails on its code.
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(timer);
  return { code, stderr };
}

describe('web flags of the built binary', () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  it('--web.config.file: serves HTTPS and asks for the basic-auth password', async () => {
    const pki = new TestPki();
    const ca = pki.makeCa('ca');
    const server = pki.makeCert('server', ca, { kind: 'server' });
    const file = join(pki.dir, 'web.yml');
    writeFileSync(
      file,
      [
        'tls_server_config:',
        `  cert_file: ${server.certFile}`,
        `  key_file: ${server.keyFile}`,
        'basic_auth_users:',
        `  prometheus: ${bcrypt.hashSync('s3cret', 4)}`,
        '',
      ].join('\n'),
    );
    const s = await start([`--web.config.file=${file}`]);
    children.push(s.child);
    assert.match(s.log(), /tls=true/);
    assert.equal((await get(s.port, ca.cert, '/metrics')).status, 401);
    assert.equal((await get(s.port, ca.cert, '/metrics', 'prometheus:wrong')).status, 401);
    // the start-up line comes before the first dump is applied: wait for readiness
    await eventually('ready over HTTPS', async () => (await get(s.port, ca.cert, '/-/ready', 'prometheus:s3cret')).status === 200);
    const ok = await get(s.port, ca.cert, '/metrics', 'prometheus:s3cret');
    assert.equal(ok.status, 200);
    assert.match(ok.body, /^linkstate_carrier\{device="lo"\} 1$/m);
  });

  it('a header value Node cannot send (typographic quotes) is one line on stderr and exit 1', async () => {
    const pki = new TestPki();
    const file = join(pki.dir, 'web.yml');
    writeFileSync(file, 'http_server_config:\n  headers:\n    Content-Security-Policy: "default-src \u2019self\u2019"\n');
    const result = await runToExit([`--web.config.file=${file}`]);
    assert.equal(result.code, 1, result.stderr);
    const errors = result.stderr.split('\n').filter((l) => l.startsWith('linkstate-exporter: '));
    assert.equal(errors.length, 1, result.stderr);
    assert.match(errors[0] as string, /http_server_config\.headers\.Content-Security-Policy: character U\+2019/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  });

  it('the same header at reload is refused and logged; the exporter keeps serving', async () => {
    const pki = new TestPki();
    const file = join(pki.dir, 'web.yml');
    writeFileSync(file, "http_server_config:\n  headers:\n    Content-Security-Policy: \"default-src 'self'\"\n");
    const s = await start([`--web.config.file=${file}`]);
    children.push(s.child);
    assert.equal((await getHttp(s.port, '/-/healthy')).status, 200);
    writeFileSync(file, 'http_server_config:\n  headers:\n    Content-Security-Policy: "default-src \u2019self\u2019"\n');
    s.child.kill('SIGHUP');
    await eventually('the refusal in the log', async () => /level=error .*web config not reloaded.*U\+2019/.test(s.log()));
    for (let i = 0; i < 3; i++) {
      const res = await getHttp(s.port, '/-/healthy');
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-security-policy'], "default-src 'self'", 'the last good header is still sent');
    }
    assert.equal(s.child.exitCode, null, s.log());
  });

  it('emptying the web config does not turn basic auth off: refused at error, /metrics still 401', async () => {
    const pki = new TestPki();
    const file = join(pki.dir, 'web.yml');
    writeFileSync(file, `basic_auth_users:\n  prometheus: ${bcrypt.hashSync('s3cret', 4)}\n`);
    const s = await start([`--web.config.file=${file}`]);
    children.push(s.child);
    assert.equal((await getHttp(s.port, '/metrics')).status, 401);
    writeFileSync(file, ''); // : > web.yml
    s.child.kill('SIGHUP');
    await eventually('the refusal in the log', async () => /level=error .*web config not reloaded.*basic authentication off/.test(s.log()));
    assert.equal((await getHttp(s.port, '/metrics')).status, 401, s.log());
    assert.doesNotMatch(s.log(), /basic_auth_users=0/);
  });

  it('an invalid --web.config.file is one line on stderr and exit 1', async () => {
    const pki = new TestPki();
    const file = join(pki.dir, 'web.yml');
    writeFileSync(file, 'tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n');
    const child = spawn(process.execPath, [MAIN, '--web.listen-address=127.0.0.1:0', `--web.config.file=${file}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 1);
    const errors = stderr.split('\n').filter((l) => l.startsWith('linkstate-exporter: '));
    assert.equal(errors.length, 1, stderr);
    assert.match(errors[0] as string, /web\.config\.file/);
    assert.doesNotMatch(stderr, /\n\s+at /);
  });
});
