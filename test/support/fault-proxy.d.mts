export type FaultKind = '503' | '500' | 'reset' | 'cut';

export interface FaultSettings {
  /** Share of eligible requests that get a fault (0..1). */
  rate: number;
  /** Faults to choose from, evenly. */
  kinds: FaultKind[];
  /** Added before every request is handled; a function picks per request (to hold chosen ones). */
  latencyMs: number | ((method: string, url: string) => number);
  /** Which requests are eligible for faults. */
  match: (method: string, url: string) => boolean;
  /** Restart the random sequence. */
  seed?: number;
}

export interface FaultProxy {
  /** 'http://127.0.0.1:<port>' */
  endpoint: string;
  stats: {
    requests: number;
    forwarded: number;
    injected: Record<FaultKind, number>;
    /** `METHOD url` of every request, in order. */
    seen: string[];
  };
  configure(changes: Partial<FaultSettings>): void;
  injectedTotal(): number;
  stop(): Promise<void>;
}

export function startFaultProxy(options: { target: string; seed?: number }): Promise<FaultProxy>;
