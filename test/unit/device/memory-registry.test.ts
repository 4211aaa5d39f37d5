import { MemoryDeviceRegistry } from '../../../src/device/webauthn/memory-registry.js';
import { registryContract } from './registry-contract.js';

registryContract('MemoryDeviceRegistry', async () => new MemoryDeviceRegistry());
