/**
 * A stand-in for the cluster primary (forked by ipc.test.ts): owns one MemoryStore and serves it
 * over this process's IPC channel, as the primary serves its workers.
 */
import { type IpcEndpoint, serveStoreOverIpc } from '../../../src/store/ipc.js';
import { MemoryStore } from '../../../src/store/memory.js';

const store = new MemoryStore({ sweepIntervalMs: 50 });
serveStoreOverIpc(store, process as unknown as IpcEndpoint);
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'gatehouse:store-ready' });
