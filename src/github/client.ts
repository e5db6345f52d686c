import { getOctokit } from '@actions/github';
import { retry } from '@octokit/plugin-retry';
import { throttling, type ThrottlingOptions } from '@octokit/plugin-throttling';
import * as log from '../log/log.js';

/**
 * How hard to try against the API. The defaults suit GitHub; tests make the waits short. Every wait
 * is bounded: a run never hangs on a broken or rate-limited API.
 */
export interface ApiOptions {
  /** Retries of a 5xx answer or a network error (default 3). */
  retries?: number;
  /** Retry n waits n² × this many ms (default 1000: 1 s, 4 s, 9 s). */
  retryBaseMs?: number;
  /** Retries of a rate-limited request (default 2). */
  rateLimitRetries?: number;
  /** A rate limit asking to wait longer than this fails at once instead (default 60 s). */
  maxRateLimitWaitSeconds?: number;
  /**
   * Passed to @octokit/plugin-throttling over our settings, e.g. `write` / `notifications` groups
   * without the plugin's 1 s / 3 s spacing between writes (tests), or `retryAfterBaseValue`.
   */
  throttle?: Partial<ThrottlingOptions>;
}

export const DEFAULT_API: Required<Omit<ApiOptions, 'throttle'>> = {
  retries: 3,
  retryBaseMs: 1000,
  rateLimitRetries: 2,
  maxRateLimitWaitSeconds: 60,
};

export type Api = typeof DEFAULT_API & ApiOptions;
export type Octokit = ReturnType<typeof getOctokit>;

/**
 * An Octokit with bounded retries of 5xx answers and bounded waits on rate limits, logging through our
 * log. `name` keys its own limiter, so waits between writes are per run, not shared with other clients.
 */
export function createClient(token: string, apiUrl: string, api: Api, name: string): Octokit {
  const onLimit =
    (kind: string) =>
    (retryAfter: number, options: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
      const request = `${options.method} ${options.url}`;
      if (retryCount < api.rateLimitRetries && retryAfter <= api.maxRateLimitWaitSeconds) {
        log.warning(
          `GitHub's ${kind} answered ${request}; trying again in ${retryAfter} s (${retryCount + 1} of ${api.rateLimitRetries}).`,
        );
        return true;
      }
      log.warning(
        retryCount < api.rateLimitRetries
          ? `GitHub's ${kind} answered ${request} and asks to wait ${retryAfter} s, longer than ${api.maxRateLimitWaitSeconds} s: giving up.`
          : `GitHub's ${kind} answered ${request} again: giving up after ${retryCount} retries.`,
      );
      return false;
    };
  return getOctokit(
    token,
    {
      baseUrl: apiUrl,
      log: {
        debug: () => undefined,
        info: () => undefined,
        warn: (message: string) => log.warning(message),
        error: (message: string) => log.error(message),
      },
      retry: {
        retries: api.retries,
        retryAfterBaseValue: api.retryBaseMs,
        // 429 is a rate limit: the throttling plugin waits as long as GitHub asks.
        doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451],
      },
      throttle: {
        id: `backup-action-${name}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
        onRateLimit: onLimit('rate limit'),
        onSecondaryRateLimit: onLimit('secondary rate limit'),
        ...api.throttle,
      } as ThrottlingOptions,
    },
    retry,
    throttling,
  );
}

export interface ApiErrorShape {
  status?: unknown;
  message?: unknown;
  response?: { headers?: Record<string, string | undefined>; data?: unknown };
}

export function statusOf(error: unknown): number | undefined {
  const status = (error as ApiErrorShape | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}

export function headerOf(error: unknown, name: string): string | undefined {
  return (error as ApiErrorShape).response?.headers?.[name];
}

/** GitHub's own message: the JSON `message`, or the start of an HTML error page as text. */
export function messageOf(error: unknown): string {
  const data = (error as ApiErrorShape).response?.data;
  if (data && typeof data === 'object' && typeof (data as { message?: unknown }).message === 'string') {
    return (data as { message: string }).message;
  }
  const text =
    typeof data === 'string' && data.trim() ? data : String((error as ApiErrorShape).message ?? 'no message');
  const plain = text
    .replace(/<(script|style|title)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&[a-z]+;/gi, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return plain.length > 200 ? `${plain.slice(0, 200)}…` : plain || 'no message';
}

/** 5xx, or no answer at all (0). */
export function isServerError(error: unknown): boolean {
  const status = statusOf(error);
  return status !== undefined && (status >= 500 || status === 0);
}

/** A 422 whose `errors` name `field` (e.g. assignees GitHub refused). */
export function mentionsField(error: unknown, field: string): boolean {
  const data = (error as ApiErrorShape).response?.data as { errors?: Array<{ field?: string }> } | undefined;
  return Array.isArray(data?.errors) && data.errors.some((e) => e?.field === field);
}
