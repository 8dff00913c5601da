// The worker thread that runs bcrypt comparisons (see bcrypt-worker.ts): one at a time, off the
// exporter's event loop. Blocking here is the point: this thread does nothing else.

import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

export interface CompareRequest {
  readonly id: number;
  readonly password: string;
  readonly hash: string;
}

export interface CompareReply {
  readonly id: number;
  readonly ok: boolean;
}

parentPort?.on('message', (msg: CompareRequest) => {
  let ok = false;
  try {
    ok = bcrypt.compareSync(msg.password, msg.hash);
  } catch {
    ok = false; // a malformed hash matches nothing
  }
  parentPort?.postMessage({ id: msg.id, ok } satisfies CompareReply);
});
