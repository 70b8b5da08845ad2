// Upload each chosen file in its own request (three at a time), with a progress bar and
// the server's verdict per file: a rejected file never stops the others.
(function () {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const list = document.getElementById("upload-list");
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  const PARALLEL = 3;

  function row(file) {
    const item = document.createElement("li");
    item.className = "upload";
    const name = document.createElement("span");
    name.textContent = file.name + " ";
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    const verdict = document.createElement("span");
    verdict.className = "verdict";
    item.append(name, bar, " ", verdict);
    list.append(item);
    return {item, bar, verdict};
  }

  function send(file, view) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      const body = new FormData();
      body.append("files", file, file.name);
      xhr.open("POST", form.dataset.api);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) view.bar.value = Math.round((100 * event.loaded) / event.total);
      };
      xhr.onload = () => {
        let data = {};
        try { data = JSON.parse(xhr.responseText); } catch (error) { /* not JSON */ }
        if (xhr.status === 201) {
          view.bar.value = 100;
          view.verdict.textContent = "stored";
          view.item.classList.add("done");
        } else {
          const message = (data.error && data.error.message) || "Upload failed (" + xhr.status + ").";
          view.verdict.textContent = message;
          view.item.classList.add("failed");
        }
        resolve();
      };
      xhr.onerror = () => {
        view.verdict.textContent = "Network error: try this file again.";
        view.item.classList.add("failed");
        resolve();
      };
      xhr.send(body);
    });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const files = Array.from(form.querySelector("input[type=file]").files);
    const queue = files.map((file) => [file, row(file)]);
    async function worker() {
      while (queue.length) {
        const [file, view] = queue.shift();
        await send(file, view);
      }
    }
    await Promise.all(Array.from({length: PARALLEL}, worker));
    form.reset();
  });
})();
