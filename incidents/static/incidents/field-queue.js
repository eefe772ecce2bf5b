/*
 * gridmap: the field page's queue of reports waiting to be sent, in IndexedDB.
 *
 * A record is written before the first attempt to send it and removed once the server has
 * answered 200/201, so a report survives a dropped network, a closed tab or a lost
 * response. Each record carries the client_uuid made when the worker pressed "submit"; the
 * server recognises a resend by it, so sending a record twice never makes two incidents.
 *
 * Record: {client_uuid, owner (username), created_at (ms), feature (GeoJSON Feature),
 *          photos: [{name, type, blob}], state: "pending" | "failed", attempts, error}
 *
 * An ES module: queue.put(record), get(uuid), all(), remove(uuid), each returning a Promise.
 */
const DB_NAME = "gridmap-field";
const DB_VERSION = 1;
const STORE = "reports";
let opening = null;

function open() {
  if (opening) return opening;
  if (!("indexedDB" in window)) return Promise.reject(new Error("IndexedDB is not available"));
  opening = new Promise(function (resolve, reject) {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = function () {
      const db = request.result;
      if (!db.objectStoreNames.contains(STORE)) {
        const store = db.createObjectStore(STORE, { keyPath: "client_uuid" });
        store.createIndex("created_at", "created_at");
      }
    };
    request.onsuccess = function () {
      const db = request.result;
      // Another tab upgrading the schema: let it, and reopen next time.
      db.onversionchange = function () {
        db.close();
        opening = null;
      };
      resolve(db);
    };
    request.onerror = function () {
      opening = null;
      reject(request.error);
    };
    request.onblocked = function () {
      opening = null;
      reject(new Error("IndexedDB is blocked by another tab"));
    };
  });
  return opening;
}

/* Run fn(store) in one transaction; resolves with fn's request result once committed. */
function run(mode, fn) {
  return open().then(function (db) {
    return new Promise(function (resolve, reject) {
      const tx = db.transaction(STORE, mode);
      let result;
      const request = fn(tx.objectStore(STORE));
      if (request) {
        request.onsuccess = function () {
          result = request.result;
        };
      }
      tx.oncomplete = function () {
        resolve(result);
      };
      tx.onerror = function () {
        reject(tx.error);
      };
      tx.onabort = function () {
        reject(tx.error || new Error("IndexedDB transaction aborted"));
      };
    });
  });
}

export const queue = {
  put: function (record) {
    return run("readwrite", function (store) {
      return store.put(record);
    });
  },
  get: function (uuid) {
    return run("readonly", function (store) {
      return store.get(uuid);
    });
  },
  /* Oldest first: reports are sent in the order they were made. */
  all: function () {
    return run("readonly", function (store) {
      return store.index("created_at").getAll();
    }).then(function (records) {
      return records || [];
    });
  },
  remove: function (uuid) {
    return run("readwrite", function (store) {
      return store.delete(uuid);
    });
  },
};
