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
