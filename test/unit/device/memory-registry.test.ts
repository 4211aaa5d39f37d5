import { MemoryDeviceRegistry } from '../../../src/device/webauthn/memory-registry.js';
import { registryAtomicContract, registryContract } from './registry-contract.js';

registryContract('MemoryDeviceRegistry', async () => new MemoryDeviceRegistry());
registryAtomicContract('MemoryDeviceRegistry', async () => new MemoryDeviceRegistry());
