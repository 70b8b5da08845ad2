// Favourites, selection and comments in a client's gallery, through the delivery API.
(function () {
  const grid = document.querySelector(".photos[data-api]");
  if (!grid) return;
  const csrf = document.querySelector("[name=csrfmiddlewaretoken]").value;
  const message = document.getElementById("gallery-message");
  const count = document.getElementById("selected-count");

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      message.textContent = (data.error && data.error.message) || "Something went wrong.";
      message.hidden = false;
      throw new Error(message.textContent);
    }
    message.hidden = true;
    return data;
  }

  grid.addEventListener("click", async (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    const card = button.closest("[data-photo]");
    const base = grid.dataset.api + card.dataset.photo + "/";
    const pressed = button.getAttribute("aria-pressed") === "true";
    if (button.classList.contains("favourite")) {
      const data = await post(base + "favourite/", {marked: !pressed});
      button.setAttribute("aria-pressed", String(data.marked));
    } else if (button.classList.contains("select")) {
      const comment = card.querySelector(".comment-input");
      const data = await post(base + "selection/", {selected: !pressed, comment: comment.value});
      button.setAttribute("aria-pressed", String(data.selected));
      button.textContent = data.selected ? "Selected" : "Select";
      comment.disabled = !data.selected;
      count.textContent = String(Number(count.textContent) + (data.selected ? 1 : -1));
    }
  });

  grid.addEventListener("change", async (event) => {
    if (!event.target.classList.contains("comment-input")) return;
    const card = event.target.closest("[data-photo]");
    await post(grid.dataset.api + card.dataset.photo + "/selection/", {
      selected: true,
      comment: event.target.value,
    });
  });

  const submit = document.getElementById("submit-selection");
  if (submit) {
    submit.addEventListener("click", async () => {
      await post(submit.dataset.url, {});
      window.location.reload();
    });
  }
})();
