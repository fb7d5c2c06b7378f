/* Up/down buttons for the pipeline picker of the Slack app admin.
 * Moving a row renumbers the position inputs, which set the order the server saves.
 * No inline handlers: this file is loaded as a static script, so a strict CSP holds. */
"use strict";
(function () {
  function renumber(list) {
    list.querySelectorAll("[data-step]").forEach(function (row, index) {
      var input = row.querySelector("[data-position]");
      if (input) {
        input.value = String(index + 1);
      }
    });
  }

  function button(text, label, move) {
    var element = document.createElement("button");
    element.type = "button";
    element.className = "button slack-pipeline-move";
    element.textContent = text;
    element.setAttribute("aria-label", label);
    element.addEventListener("click", move);
    return element;
  }

  function enhance(picker) {
    var list = picker.querySelector(".slack-pipeline-steps");
    if (!list) {
      return;
    }
    picker.classList.add("slack-pipeline-js");
    list.querySelectorAll("[data-step]").forEach(function (row) {
      var name = row.querySelector("strong").textContent;
      var controls = document.createElement("span");
      controls.className = "slack-pipeline-controls";
      controls.appendChild(button("\u2191", "Move " + name + " up", function () {
        var previous = row.previousElementSibling;
        if (previous) {
          // Move the neighbour, not this row: a moved element loses the keyboard focus.
          list.insertBefore(previous, row.nextElementSibling);
          renumber(list);
        }
      }));
      controls.appendChild(button("\u2193", "Move " + name + " down", function () {
        var next = row.nextElementSibling;
        if (next) {
          list.insertBefore(next, row);
          renumber(list);
        }
      }));
      // In the position input's place, so the focus order follows the layout.
      var position = row.querySelector("[data-position]");
      row.insertBefore(controls, position ? position.closest("label") : null);
    });
    renumber(list);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-pipeline-picker]").forEach(enhance);
  });
})();
