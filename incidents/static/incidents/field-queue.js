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
 *
 * The other phone pages keep what waits to be sent in the same database, one store each
 * (STORES): storeOf("sign_ins"), storeOf("patrols"), storeOf("visits") give the same four
 * calls on their store; every record has a client_uuid (the key) and created_at (ms).
 */
const DB_NAME = "gridmap-field";
const DB_VERSION = 2;
const STORES = ["reports", "sign_ins", "patrols", "visits"];
let opening = null;

function open() {
  if (opening) return opening;
  if (!("indexedDB" in window)) return Promise.reject(new Error("IndexedDB is not available"));
  opening = new Promise(function (resolve, reject) {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = function () {
      const db = request.result;
      STORES.forEach(function (name) {
        if (!db.objectStoreNames.contains(name)) {
          const store = db.createObjectStore(name, { keyPath: "client_uuid" });
          store.createIndex("created_at", "created_at");
        }
      });
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

/* Run fn(store) in one transaction on the store called name; resolves with fn's request
   result once committed. */
function run(name, mode, fn) {
  return open().then(function (db) {
    return new Promise(function (resolve, reject) {
      const tx = db.transaction(name, mode);
      let result;
      const request = fn(tx.objectStore(name));
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

/* The four calls on one store (a name of STORES). */
export function storeOf(name) {
  if (STORES.indexOf(name) < 0) throw new Error("no such queue: " + name);
  return {
    put: function (record) {
      return run(name, "readwrite", function (store) {
        return store.put(record);
      });
    },
    get: function (uuid) {
      return run(name, "readonly", function (store) {
        return store.get(uuid);
      });
    },
    /* Oldest first: records are sent in the order they were made. */
    all: function () {
      return run(name, "readonly", function (store) {
        return store.index("created_at").getAll();
      }).then(function (records) {
        return records || [];
      });
    },
    remove: function (uuid) {
      return run(name, "readwrite", function (store) {
        return store.delete(uuid);
      });
    },
  };
}

export const queue = storeOf("reports");
