/* Aushang kiosk page: whether an item's weekdays and times of day (issue 16) cover a
   moment, in the screen's time zone: the same rule as the screen hours (player/screen.py):
   ISO weekdays, "off" before "on" runs past midnight and belongs to the day it starts on,
   equal times mean the whole day, unreadable entries mean shown. */
window.AushangHours = (function () {
  "use strict";

  var DAYS = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };
  var formats = {};

  function local(now, zone) {
    var f = formats[zone];
    if (!f) {
      var options = { weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone };
      try {
        f = new Intl.DateTimeFormat("en-GB", options);
      } catch (e) {
        delete options.timeZone;
        f = new Intl.DateTimeFormat("en-GB", options);
      }
      formats[zone] = f;
    }
    var parts = {};
    f.formatToParts(new Date(now)).forEach(function (p) { parts[p.type] = p.value; });
    return { day: DAYS[parts.weekday], minutes: (parseInt(parts.hour, 10) % 24) * 60 + parseInt(parts.minute, 10) };
  }

  function minutes(text) {
    var m = /^([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(text || "");
    return m ? parseInt(m[1], 10) * 60 + parseInt(m[2], 10) : null;
  }

  function covers(hours, now, zone) {
    if (!hours || !hours.length) return true;
    var t = local(now, zone || "Europe/Berlin");
    var yesterday = t.day === 1 ? 7 : t.day - 1;
    return hours.some(function (h) {
      var on = minutes(h.on), off = minutes(h.off);
      var days = h.weekdays && h.weekdays.length ? h.weekdays : [1, 2, 3, 4, 5, 6, 7];
      if (on === null || off === null) return true;
      var has = function (d) { return days.indexOf(d) >= 0; };
      if (on === off) return has(t.day);
      if (on < off) return has(t.day) && on <= t.minutes && t.minutes < off;
      return (has(t.day) && t.minutes >= on) || (has(yesterday) && t.minutes < off);
    });
  }

  return { covers: covers };
})();
