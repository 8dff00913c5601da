// node:http and node:fs, loaded with require. An ES import of a built-in module reads every
// property of its exports to build the named exports, and Node.js 24's have getters that load
// modules on first read: node:http's WebSocket classes load undici and node:tls, node:fs's
// `promises` its promise API. Required, they stay unloaded until used (never, here).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const http = require('node:http') as typeof import('node:http');
export const fs = require('node:fs') as typeof import('node:fs');
