import assert from 'node:assert/strict';
import { test } from 'node:test';
import { groupsFromClaims } from '../../../src/identity/groups.js';

const CASES: [string, Record<string, unknown>, string | undefined, string[]][] = [
  ['default claim', { groups: ['a', 'b'] }, undefined, ['a', 'b']],
  ['a string is one group', { groups: 'admins' }, undefined, ['admins']],
  [
    'dotted path',
    { realm_access: { roles: ['admin', 'user'] } },
    'realm_access.roles',
    ['admin', 'user'],
  ],
  [
    'namespaced claim with dots',
    { 'https://example.com/groups': ['x'] },
    'https://example.com/groups',
    ['x'],
  ],
  ['non-strings are dropped', { groups: ['a', 1, null, { b: 1 }, '', 'c'] }, undefined, ['a', 'c']],
  ['an object is no groups', { groups: { a: true } }, undefined, []],
  ['a number is no groups', { groups: 7 }, undefined, []],
  ['missing claim', {}, undefined, []],
  ['path through a non-object', { realm_access: 'x' }, 'realm_access.roles', []],
  ['path through an array', { realm_access: [{ roles: ['a'] }] }, 'realm_access.0.roles', []],
  ['no prototype walking', {}, 'constructor.name', []],
];

for (const [name, claims, path, expected] of CASES) {
  test(`groupsFromClaims: ${name}`, () =>
    assert.deepEqual(groupsFromClaims(claims, path), expected));
}
