/* gridmap, the diary (/diary/): the "Print" button, and "Mark the follow-up done" on one's own
   visits (POST /api/visits/<id>/follow-up-done/, then the page is drawn again). No inline
   script under the CSP; the diary itself is drawn by the server. */
import { fetchJson } from "../gridmap/common.js";

const button = document.querySelector('[data-action="print"]');
if (button) {
  button.addEventListener("click", function () {
    window.print();
  });
}

document.querySelectorAll("[data-follow-up-done]").forEach(function (done) {
  done.addEventListener("click", async function () {
    done.disabled = true;
    try {
      await fetchJson(done.dataset.followUpDone, { method: "POST" }, "");
      window.location.reload();
    } catch (error) {
      done.disabled = false;
      done.title = error.message || "";
    }
  });
});
