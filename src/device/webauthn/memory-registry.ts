import { type AssertionOutcome, applyAssertion } from './assertion-rule.js';
import type { DeviceRecord, DeviceRegistry } from './types.js';

/**
 * A {@link DeviceRegistry} in process memory: one replica, lost on restart. The reference for
 * the contract (the store-backed registry must pass the same tests).
 *
 * @example const registry = new MemoryDeviceRegistry();
 */
export class MemoryDeviceRegistry implements DeviceRegistry {
  readonly #records = new Map<string, DeviceRecord>();

  async listByUser(sub: string): Promise<readonly DeviceRecord[]> {
    return [...this.#records.values()]
      .filter((r) => r.sub === sub)
      .sort((a, b) => a.registered_at - b.registered_at);
  }

  async get(id: string): Promise<DeviceRecord | undefined> {
    return this.#records.get(id);
  }

  async put(record: DeviceRecord): Promise<void> {
    this.#records.set(record.id, Object.freeze({ ...record }));
  }

  async create(record: DeviceRecord): Promise<boolean> {
    if (this.#records.has(record.id)) return false;
    this.#records.set(record.id, Object.freeze({ ...record }));
    return true;
  }

  // Read, compare and write with no await in between: atomic in one process.
  async recordAssertion(
    id: string,
    sub: string,
    counter: number,
    at: number,
  ): Promise<AssertionOutcome> {
    const outcome = applyAssertion(this.#records.get(id), sub, counter, at);
    if (outcome.ok) this.#records.set(id, Object.freeze({ ...outcome.device }));
    return outcome;
  }

  async approve(id: string): Promise<boolean> {
    const record = this.#records.get(id);
    if (record === undefined || record.approval === 'revoked') return false;
    this.#records.set(id, Object.freeze({ ...record, approval: 'approved' }));
    return true;
  }

  async revoke(id: string): Promise<boolean> {
    const record = this.#records.get(id);
    if (record === undefined) return false;
    this.#records.set(id, Object.freeze({ ...record, approval: 'revoked' }));
    return true;
  }
}
