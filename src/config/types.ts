/** The validated, fully-defaulted, frozen configuration. Mirrors `schema.ts`. */
export interface Config {
  readonly grpc: {
    readonly address: string;
    readonly port: number;
    readonly max_receive_message_bytes: number;
    readonly max_send_message_bytes: number;
    readonly shutdown_grace_ms: number;
  };
  readonly http: {
    readonly address: string;
    readonly port: number;
  };
  readonly policy: {
    readonly bundle?: string;
    readonly dir?: string;
    readonly entrypoint: string;
    readonly watch: boolean;
    readonly opa: string;
  };
  readonly log: {
    readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  };
}
