/** The part of autocannon 9's API the HTTP benchmark uses (the package ships no types). */
declare module "autocannon" {
  interface Histogram {
    readonly average: number;
    readonly mean: number;
    readonly stddev: number;
    readonly min: number;
    readonly max: number;
    readonly total: number;
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
  }

  interface Options {
    url: string;
    connections?: number;
    /** Seconds. */
    duration?: number;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    /** Seconds before a request counts as a timeout. */
    timeout?: number;
    /** Requests each connection sends in turn, over and over (instead of `method`, `headers` on `url`). */
    requests?: readonly {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string;
    }[];
  }

  interface Result {
    readonly requests: Histogram;
    /** Milliseconds. */
    readonly latency: Histogram;
    readonly throughput: Histogram;
    /** Seconds the run took. */
    readonly duration: number;
    readonly errors: number;
    readonly timeouts: number;
    readonly non2xx: number;
    readonly "2xx": number;
  }

  function autocannon(opts: Options): Promise<Result>;
  export = autocannon;
}
