// Small maps on console pages (Leaflet, served by the app). A map is any element with
// data-map; it reads, from data- attributes:
//   tiles, attribution   the tile source (none configured: points on a blank background)
//   points               JSON list of {lat, lon, label}
//   pick-lat, pick-lon   ids of two inputs: a click on the map fills them (and moves a marker);
//                        typing in them moves the marker too. The inputs stay the way to enter
//                        a position without a pointer.
// The page works without this script: every value is also a form field or a table row.
(function () {
  "use strict";

  function number(value) {
    var parsed = parseFloat(value);
    return isFinite(parsed) ? parsed : null;
  }

  function setUp(element) {
    var points = [];
    try {
      points = JSON.parse(element.getAttribute("data-points") || "[]");
    } catch (ignored) {
      points = [];
    }
    var map = L.map(element, { scrollWheelZoom: false, keyboard: true });
    var tiles = element.getAttribute("data-tiles");
    if (tiles) {
      L.tileLayer(tiles, {
        maxZoom: 19,
        attribution: element.getAttribute("data-attribution") || "",
      }).addTo(map);
    }
    L.control.scale().addTo(map);
    var bounds = [];
    points.forEach(function (point) {
      if (point.lat === null || point.lon === null) {
        return;
      }
      var marker = L.circleMarker([point.lat, point.lon], { radius: 7, weight: 2 }).addTo(map);
      if (point.label) {
        // As text: Leaflet puts a string tooltip into innerHTML, and labels are names that
        // partners type (a facility's, a point's), shown to other organizations' responders.
        var label = document.createElement("span");
        label.textContent = point.label;
        marker.bindTooltip(label);
      }
      bounds.push([point.lat, point.lon]);
    });

    var latInput = document.getElementById(element.getAttribute("data-pick-lat") || "");
    var lonInput = document.getElementById(element.getAttribute("data-pick-lon") || "");
    var picked = null;
    function showPicked() {
      var lat = latInput ? number(latInput.value) : null;
      var lon = lonInput ? number(lonInput.value) : null;
      if (lat === null || lon === null) {
        return;
      }
      if (picked) {
        picked.setLatLng([lat, lon]);
      } else {
        picked = L.circleMarker([lat, lon], { radius: 8, color: "#b3261e" }).addTo(map);
      }
    }
    if (latInput && lonInput) {
      showPicked();
      if (picked) {
        bounds.push(picked.getLatLng());
      }
      map.on("click", function (event) {
        latInput.value = event.latlng.lat.toFixed(6);
        lonInput.value = event.latlng.lng.toFixed(6);
        showPicked();
      });
      latInput.addEventListener("change", showPicked);
      lonInput.addEventListener("change", showPicked);
    }

    if (bounds.length > 1) {
      map.fitBounds(bounds, { padding: [24, 24], maxZoom: 18 });
    } else if (bounds.length === 1) {
      map.setView(bounds[0], 17);
    } else {
      var centre = [number(element.getAttribute("data-lat")), number(element.getAttribute("data-lon"))];
      map.setView(centre[0] !== null && centre[1] !== null ? centre : [39.5, -98.35], centre[0] !== null ? 15 : 4);
    }
  }

  document.querySelectorAll("[data-map]").forEach(setUp);
})();
