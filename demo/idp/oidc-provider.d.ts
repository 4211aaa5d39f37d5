/**
 * The small part of oidc-provider's API the demo identity provider uses. The package ships no
 * type declarations; this is the narrow, commented boundary where its loose configuration object
 * meets strict TypeScript. Configuration callbacks receive oidc-provider's Koa context, typed
 * `unknown`-ish here on purpose: the demo reads only what it declares below.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface InteractionPrompt {
    readonly name: string;
    readonly reasons: readonly string[];
    readonly details: {
      readonly missingOIDCScope?: readonly string[];
      readonly missingOIDCClaims?: readonly string[];
      readonly missingResourceScopes?: Readonly<Record<string, readonly string[]>>;
    };
  }

  export interface Interaction {
    readonly uid: string;
    readonly prompt: InteractionPrompt;
    readonly params: Readonly<Record<string, unknown>> & { readonly client_id: string };
    readonly session?: { readonly accountId?: string };
    readonly grantId?: string;
    readonly lastSubmission?: Readonly<Record<string, unknown>>;
  }

  export interface Grant {
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: readonly string[]): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  export interface GrantConstructor {
    new (init: { accountId: string; clientId: string }): Grant;
    find(id: string): Promise<Grant | undefined>;
  }

  export interface InteractionResults {
    login?: {
      accountId: string;
      remember?: boolean;
      acr?: string;
      amr?: string[];
      /** When the user authenticated (NumericDate): the session's `auth_time`. */
      ts?: number;
    };
    consent?: { grantId?: string };
    error?: string;
    error_description?: string;
  }

  /** A Koa context, as far as the demo's middleware looks at it. */
  export interface KoaContextLike {
    path: string;
    method: string;
    query: Record<string, string | string[] | undefined>;
    body: unknown;
    type: string;
    host: string;
  }

  /** An access token being issued (the demo's password grant builds one itself). */
  export interface AccessToken {
    resourceServer: ResourceServer | undefined;
    readonly expiration: number;
    readonly scope?: string;
    save(): Promise<string>;
  }

  export interface AccessTokenConstructor {
    new (init: {
      accountId: string;
      client: unknown;
      grantId: string;
      gty: string;
      scope: string;
    }): AccessToken;
  }

  /** A resource server (RFC 8707 resource indicator) and how its access tokens look. */
  export type ResourceServer = object;

  export interface ResourceServerConstructor {
    new (identifier: string, info: Record<string, unknown>): ResourceServer;
  }

  /** What the demo's grant handler reads from oidc-provider's token-endpoint context. */
  export interface TokenContextLike {
    readonly oidc: {
      readonly params: Readonly<Record<string, unknown>>;
      readonly client?: { readonly clientId: string };
    };
    body: unknown;
  }

  export const errors: {
    InvalidGrant: new (description: string) => Error;
    InvalidTarget: new (description?: string) => Error;
    UnauthorizedClient: new (description?: string) => Error;
  };

  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    readonly issuer: string;
    readonly Grant: GrantConstructor;
    readonly AccessToken: AccessTokenConstructor;
    readonly ResourceServer: ResourceServerConstructor;
    registerGrantType(
      name: string,
      handler: (ctx: TokenContextLike) => Promise<void>,
      params?: readonly string[],
    ): void;
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    use(middleware: (ctx: KoaContextLike, next: () => Promise<void>) => Promise<void>): void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }
}
