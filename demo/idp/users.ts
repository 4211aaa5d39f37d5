/** The demo identity provider's accounts. Passwords are demo values, never for real use. */

/** One account at the demo identity provider. */
export interface DemoUser {
  /** Subject identifier (`sub`) and sign-in name. */
  readonly username: string;
  readonly password: string;
  readonly email: string;
  readonly emailVerified: boolean;
  readonly name: string;
  /** Emitted as the custom `groups` claim (scope `groups`). */
  readonly groups: readonly string[];
}

/** alice (admins, staff) and bob (staff); the password is the username. */
export const DEFAULT_USERS: readonly DemoUser[] = Object.freeze([
  Object.freeze({
    username: 'alice',
    password: 'alice',
    email: 'alice@example.com',
    emailVerified: true,
    name: 'Alice Admin',
    groups: Object.freeze(['admins', 'staff']),
  }),
  Object.freeze({
    username: 'bob',
    password: 'bob',
    email: 'bob@example.com',
    emailVerified: true,
    name: 'Bob Builder',
    groups: Object.freeze(['staff']),
  }),
]);
