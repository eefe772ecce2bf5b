/*
 * gridmap: the field page's service worker, served at /field/sw.js (scope /field/).
 *
 * The view that serves it puts self.GRIDMAP_SW above this script:
 *   {version, shell: "/field/", shells: ["/field/", "/field/today/", "/field/visit/"],
 *    precache: [static URLs], dataUrls: [API paths]}
 *
 * - The page shells (/field/, and the other phone pages /field/today/, /field/visit/):
 *   network first, so a logged-in page is always fresh online; the last good copy when the
 *   network is gone.
 * - Static files of the shell (Leaflet from django-leaflet, the field page's CSS and JS):
 *   cached at install under the version, served from the cache.
 * - GET answers the form needs offline (categories, the worker's grid and village
 *   outlines): network first, the last good copy when offline. They are dropped when a
 *   different user opens the page on this phone.
 * - Everything else (reports, the inbox, households) goes to the network untouched: queued
 *   reports wait in the page's IndexedDB, not here.
 */
/* global self, caches, fetch, Request, Response, URL */
"use strict";

const CONFIG = self.GRIDMAP_SW;
const SHELL_CACHE = "gridmap-field-shell-" + CONFIG.version;
const DATA_CACHE = "gridmap-field-data";
const USER_KEY = CONFIG.shell + "__user__";
const SHELLS = CONFIG.shells || [CONFIG.shell];

function sameOrigin(url) {
  return url.origin === self.location.origin;
}

function usable(response) {
  return response && response.ok && !response.redirected && response.type === "basic";
}

/* The answers the form needs offline, fetched now with this browser's login. */
function refillData() {
  return caches.open(DATA_CACHE).then(function (cache) {
    return Promise.all(
      CONFIG.dataUrls.map(function (path) {
        return fetch(path, { credentials: "same-origin", cache: "no-store" })
          .then(function (response) {
            if (usable(response)) return cache.put(path, response);
            return undefined;
          })
          .catch(function () {
            return undefined;
          });
      })
    );
  });
}

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(SHELL_CACHE).then(function (cache) {
      // The static files must all be there; the page itself only when logged in.
      // "reload": the files themselves, not an older copy from the HTTP cache.
      const requests = CONFIG.precache.map(function (path) {
        return new Request(path, { cache: "reload" });
      });
      return cache.addAll(requests).then(function () {
        return Promise.all(
          SHELLS.map(function (shell) {
            return fetch(shell, { credentials: "same-origin" })
              .then(function (response) {
                if (usable(response)) return cache.put(shell, response);
                return undefined;
              })
              .catch(function () {
                return undefined;
              });
          })
        );
      });
    }).then(refillData).then(function () {
      return self.skipWaiting();
    })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(
        names
          .filter(function (name) {
            return name.indexOf("gridmap-field-shell-") === 0 && name !== SHELL_CACHE;
          })
          .map(function (name) {
            return caches.delete(name);
          })
      );
    }).then(function () {
      return self.clients.claim();
    })
  );
});

/* The page says who is logged in; another user's cached data is thrown away and fetched
   again for the new one. */
self.addEventListener("message", function (event) {
  const data = event.data || {};
  if (data.type !== "user") return;
  event.waitUntil(
    caches.open(DATA_CACHE).then(function (cache) {
      return cache.match(USER_KEY).then(function (stored) {
        return (stored ? stored.text() : Promise.resolve(null)).then(function (previous) {
          if (previous === data.user) return undefined;
          const cleared = previous === null ? Promise.resolve() : caches.delete(DATA_CACHE);
          return cleared
            .then(function () {
              return caches.open(DATA_CACHE);
            })
            .then(function (fresh) {
              return fresh.put(USER_KEY, new Response(String(data.user)));
            })
            .then(refillData);
        });
      });
    })
  );
});

/* The network's answer, kept under key when store is true; offline, the copy kept under key. */
function networkFirst(request, cacheName, key, store) {
  return fetch(request)
    .then(function (response) {
      if (store !== false && usable(response)) {
        const copy = response.clone();
        caches.open(cacheName).then(function (cache) {
          return cache.put(key, copy);
        });
      }
      return response;
    })
    .catch(function (error) {
      return caches.open(cacheName).then(function (cache) {
        return cache.match(key).then(function (cached) {
          if (cached) return cached;
          throw error;
        });
      });
    });
}

function cacheFirst(request) {
  return caches.open(SHELL_CACHE).then(function (cache) {
    return cache.match(request, { ignoreSearch: true }).then(function (cached) {
      if (cached) return cached;
      return fetch(request).then(function (response) {
        if (usable(response)) cache.put(request, response.clone());
        return response;
      });
    });
  });
}

function offlinePage() {
  const html =
    '<!DOCTYPE html><meta charset="utf-8"><meta name="viewport" content="width=device-width">' +
    '<title>gridmap</title><body style="font:18px/1.5 sans-serif;padding:24px">' +
    "<p>网络已断开，请联网后再打开一次本页面。</p><p>Offline: open this page once online first.</p>";
  return new Response(html, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

self.addEventListener("fetch", function (event) {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (!sameOrigin(url)) return;

  if (request.mode === "navigate" && SHELLS.indexOf(url.pathname) !== -1) {
    // Only the plain page is kept: /field/visit/?household=A is that page with A chosen, and
    // its copy must not come back offline for /field/visit/ or ?household=B (the page reads
    // the query itself when it was served from here).
    event.respondWith(
      networkFirst(request, SHELL_CACHE, url.pathname, !url.search).catch(function () {
        return offlinePage();
      })
    );
    return;
  }
  if (CONFIG.precache.indexOf(url.pathname) !== -1) {
    event.respondWith(cacheFirst(request));
    return;
  }
  if (CONFIG.dataUrls.indexOf(url.pathname) !== -1 && !url.search) {
    event.respondWith(networkFirst(request, DATA_CACHE, url.pathname));
  }
});
