#!/usr/bin/env node
// Drives the unmodified Leanplum JavaScript SDK (npm leanplum-sdk) against pushfake.
//
// Configuration comes from the environment:
//   PUSHFAKE_API    full API URL ending in /api, e.g. http://127.0.0.1:8000/api
//   LP_APP_ID       Leanplum app id
//   LP_KEY          client key (production or development)
//   LP_MODE         "production" (default) or "development"
//   LP_USER_ID      user id passed to Leanplum.start
//   LP_TRACK_EVENT  optional: event name tracked (and sent at once) after a successful start
//
// Output: exactly one JSON line on stdout,
//   {"started": bool, "variables": {...}, "exchanges": [{method, url, status, requestBody, responseText}, ...]}
// Exit status: 0 when the scenario ran to the end (whether or not start succeeded),
//              2 when the safety timeout fired, 1 on a configuration/usage error.
'use strict';

const SAFETY_TIMEOUT_MS = 20000;

// Everything the SDK logs goes to stderr so stdout only carries our JSON line.
for (const name of ['log', 'info', 'warn', 'debug']) {
  console[name] = (...args) => console.error(...args);
}

function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`leanplum_client.js: environment variable ${name} is required`);
    process.exit(1);
  }
  return value;
}

const apiPath = requireEnv('PUSHFAKE_API');
const appId = requireEnv('LP_APP_ID');
const clientKey = requireEnv('LP_KEY');
const userId = requireEnv('LP_USER_ID');
const mode = process.env.LP_MODE || 'production';
const trackEvent = process.env.LP_TRACK_EVENT || '';
if (mode !== 'production' && mode !== 'development') {
  console.error(`leanplum_client.js: LP_MODE must be "production" or "development", got ${mode}`);
  process.exit(1);
}

// ---------------------------------------------------------------------------
// Browser globals the SDK expects (must exist before require('leanplum-sdk')).

// A Web Storage look-alike that also works with property access
// (storage[key] / storage[key] = value), which is how the SDK uses localStorage.
function makeStorage() {
  const storage = {};
  const methods = {
    getItem(key) {
      return Object.prototype.hasOwnProperty.call(storage, key) ? String(storage[key]) : null;
    },
    setItem(key, value) {
      storage[key] = String(value);
    },
    removeItem(key) {
      delete storage[key];
    },
    clear() {
      for (const key of Object.keys(storage)) delete storage[key];
    },
  };
  for (const [name, fn] of Object.entries(methods)) {
    // non-enumerable, so Object.keys(storage) only lists stored items
    Object.defineProperty(storage, name, { value: fn, enumerable: false });
  }
  return storage;
}

globalThis.window = {
  navigator: { userAgent: 'Node.js pushfake-test', appVersion: '', platform: 'Linux', vendor: '' },
  location: { protocol: 'http:', href: 'http://localhost/', assign() {} },
};
globalThis.localStorage = makeStorage();
globalThis.sessionStorage = makeStorage();
// Keep the development-mode socket from connecting anywhere: the SDK checks `!WebSocket`.
Object.defineProperty(globalThis, 'WebSocket', { value: undefined, writable: true, configurable: true });

// XMLHttpRequest from xhr2, extended to record every exchange.
const BaseXHR = require('xhr2');
const exchanges = [];

class RecordingXHR extends BaseXHR {
  open(method, url, ...rest) {
    this._pfRecord = {
      method: String(method),
      url: String(url),
      status: null,
      requestBody: null,
      responseText: null,
      done: false,
    };
    return super.open(method, url, ...rest);
  }

  send(body) {
    const record = this._pfRecord;
    if (record) {
      record.requestBody = body === undefined || body === null ? null : String(body);
      exchanges.push(record);
      // Registered listeners run before the SDK's onreadystatechange handler.
      this.addEventListener('readystatechange', () => {
        if (this.readyState === 4 && !record.done) {
          record.done = true;
          record.status = this.status;
          try {
            record.responseText = this.responseText;
          } catch (e) {
            record.responseText = null;
          }
        }
      });
    }
    return super.send(body);
  }
}
globalThis.XMLHttpRequest = RecordingXHR;

// ---------------------------------------------------------------------------

const Leanplum = require('leanplum-sdk');

let started = false;
let finished = false;

function report(exitCode) {
  if (finished) return;
  finished = true;
  let variables = null;
  try {
    variables = Leanplum.getVariables();
  } catch (e) {
    console.error('getVariables() failed:', e);
  }
  const out = {
    started,
    variables,
    exchanges: exchanges.map(({ done, ...rest }) => rest),
  };
  if (exitCode !== 0) out.timedOut = true;
  // Exit only once stdout has been flushed (it may be a pipe).
  process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(exitCode));
}

const safety = setTimeout(() => {
  console.error(`leanplum_client.js: safety timeout after ${SAFETY_TIMEOUT_MS} ms`);
  report(2);
}, SAFETY_TIMEOUT_MS);
safety.unref();

// Resolves once no recorded request is in flight, and has stayed so for a short while
// (the SDK dispatches follow-up requests from setTimeout(0) callbacks).
function whenIdle(callback) {
  let quietTicks = 0;
  const timer = setInterval(() => {
    const pending = exchanges.some((x) => !x.done);
    quietTicks = pending ? 0 : quietTicks + 1;
    if (quietTicks >= 5) {
      clearInterval(timer);
      callback();
    }
  }, 20);
}

Leanplum.setApiPath(apiPath);
if (mode === 'development') {
  Leanplum.setAppIdForDevelopmentMode(appId, clientKey);
} else {
  Leanplum.setAppIdForProductionMode(appId, clientKey);
}
Leanplum.setVariables({
  welcomeMessage: 'hi from code',
  maxItems: 1,
});

Leanplum.start(userId, { plan: 'gold' }, (success) => {
  started = Boolean(success);
  if (started && trackEvent) {
    // Plain track() calls are batched (5 s cooldown); with batching off the SDK
    // sends the queued action as a `multi` request right away.
    Leanplum.setRequestBatching(false);
    Leanplum.track(trackEvent, { sku: 'a' });
  }
  whenIdle(() => report(0));
});
