// The view of StarRating: one button per star; a click sets `value` and sends it to Python.
function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "star-rating";
  const label = document.createElement("span");
  label.className = "star-rating-label";
  box.append(label);
  const buttons = [];

  const draw = () => {
    label.textContent = model.get("label");
    while (buttons.length < model.get("stars")) {
      const star = document.createElement("button");
      const n = buttons.length + 1;
      star.type = "button";
      star.textContent = "★";
      star.setAttribute("aria-label", `${n} star${n > 1 ? "s" : ""}`);
      star.addEventListener("click", () => {
        model.set("value", n);
        model.save_changes();
      });
      buttons.push(star);
      box.append(star);
    }
    buttons.forEach((star, i) => star.classList.toggle("on", i < model.get("value")));
  };

  draw();
  model.on("change:value", draw);
  model.on("change:label", draw);
  el.append(box);
  return () => {
    model.off("change:value", draw);
    model.off("change:label", draw);
  };
}

export default { render };
