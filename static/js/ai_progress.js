// The live progress bar of one AI-assist run (templates/ai_assist/_job_progress.html): polls the
// run while it is under way, and reloads the page once it is done or failed.
(function () {
  const section = document.getElementById("ai-progress");
  const live = ["queued", "running", "deciding"];
  if (!section || !live.includes(section.dataset.state)) return;

  function poll() {
    fetch(section.dataset.api, {credentials: "same-origin"})
      .then((response) => response.json())
      .then((job) => {
        if (!live.includes(job.state)) return window.location.reload();
        section.querySelector("progress").value = job.done + job.failed;
        document.getElementById("progress-text").textContent =
          `${job.done} done, ${job.failed} failed, of ${job.total} — ${job.state}…`;
        setTimeout(poll, 1000);
      })
      .catch(() => setTimeout(poll, 5000));
  }
  setTimeout(poll, 1000);
})();
