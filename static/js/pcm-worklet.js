// The microphone's audio as the voice socket wants it: 16 kHz mono signed 16-bit PCM.
// An AudioWorkletProcessor, loaded by voice-mic.js with audioWorklet.addModule(). It
// runs on the audio thread at the context's native rate (48 kHz mostly, 44.1 kHz on
// some devices), low-pass filters below 8 kHz so that nothing folds back into the
// speech band, resamples to 16 kHz and posts frames of 20 ms to the main thread:
//   {type: "frame", pcm: ArrayBuffer (320 Int16 samples, transferred), rms: 0..1, peak: 0..1}
// It writes nothing to its output, so it can sit connected to the destination (which
// keeps it running) without making a sound.
(function () {
  "use strict";

  var OUT_RATE = 16000;
  var FRAME = 320; // 20 ms at 16 kHz
  var HALF = 24; // the filter reaches 24 input samples each side (0.5 ms at 48 kHz)
  var RES = 256; // kernel table steps per input sample
  var CUTOFF = 7200; // Hz: most of the speech band, well clear of 8 kHz (16 kHz's Nyquist)

  /** sin(pi x) / (pi x). */
  function sinc(x) {
    if (x === 0) return 1;
    var px = Math.PI * x;
    return Math.sin(px) / px;
  }

  /**
   * A windowed-sinc low-pass kernel, sampled RES times per input sample over
   * [0, HALF] (it is symmetric): reading it at a fractional distance resamples and
   * filters in one step.
   */
  function kernelTable(inRate) {
    var norm = (2 * CUTOFF) / inRate; // cutoff as a fraction of the input's Nyquist
    var table = new Float32Array(HALF * RES + 2);
    for (var i = 0; i < table.length; i++) {
      var d = i / RES;
      var w = d >= HALF ? 0 : 0.42 + 0.5 * Math.cos((Math.PI * d) / HALF) + 0.08 * Math.cos((2 * Math.PI * d) / HALF);
      table[i] = norm * sinc(norm * d) * w; // Blackman window
    }
    return table;
  }

  // AudioWorkletProcessor can only be subclassed with ``class`` (the one place here).
  class PcmDownsampler extends AudioWorkletProcessor {
    constructor(options) {
      super(options);
      var inRate = sampleRate; // the AudioWorkletGlobalScope's rate
      this.ratio = inRate / OUT_RATE;
      this.passThrough = Math.abs(inRate - OUT_RATE) < 1;
      this.table = this.passThrough ? null : kernelTable(inRate);
      // Input history: the kernel looks HALF samples back, so it starts with HALF zeros.
      this.buf = new Float32Array(16384);
      this.len = HALF;
      this.pos = HALF; // where, in buf, the next output sample is taken (fractional)
      this.frame = new Int16Array(FRAME);
      this.filled = 0;
      this.sumSquares = 0;
      this.peak = 0;
      this.port.postMessage({ type: "info", inputRate: inRate, outputRate: OUT_RATE });
    }
  }

  /** Take one 16 kHz sample (-1..1) into the frame; post the frame when it is full. */
  PcmDownsampler.prototype.push = function (value) {
    if (value > 1) value = 1;
    else if (value < -1) value = -1;
    this.sumSquares += value * value;
    var magnitude = value < 0 ? -value : value;
    if (magnitude > this.peak) this.peak = magnitude;
    this.frame[this.filled++] = value < 0 ? Math.round(value * 32768) : Math.round(value * 32767);
    if (this.filled === FRAME) {
      var pcm = this.frame.buffer;
      this.port.postMessage(
        { type: "frame", pcm: pcm, rms: Math.sqrt(this.sumSquares / FRAME), peak: this.peak },
        [pcm]
      );
      this.frame = new Int16Array(FRAME);
      this.filled = 0;
      this.sumSquares = 0;
      this.peak = 0;
    }
  };

  /** The filtered signal at fractional input position ``t`` (needs HALF samples each side). */
  PcmDownsampler.prototype.sampleAt = function (t) {
    var buf = this.buf;
    var table = this.table;
    var first = Math.ceil(t - HALF);
    var last = Math.floor(t + HALF);
    var sum = 0;
    var weights = 0;
    for (var k = first; k <= last; k++) {
      var d = (t > k ? t - k : k - t) * RES;
      var i = d | 0;
      var w = table[i] + (table[i + 1] - table[i]) * (d - i);
      sum += buf[k] * w;
      weights += w;
    }
    return weights > 0 ? sum / weights : 0; // unity gain at DC, whatever the phase
  };

  PcmDownsampler.prototype.append = function (input) {
    var n = input.length;
    if (this.len + n > this.buf.length) {
      var bigger = new Float32Array((this.len + n) * 2);
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
    }
    this.buf.set(input, this.len);
    this.len += n;
  };

  PcmDownsampler.prototype.process = function (inputs) {
    var channels = inputs[0];
    if (!channels || !channels.length) return true;
    var input = channels[0];
    if (channels.length > 1) {
      // Mix down to mono.
      input = new Float32Array(channels[0].length);
      for (var c = 0; c < channels.length; c++) {
        for (var j = 0; j < input.length; j++) input[j] += channels[c][j] / channels.length;
      }
    }
    if (this.passThrough) {
      for (var s = 0; s < input.length; s++) this.push(input[s]);
      return true;
    }
    this.append(input);
    while (this.pos + HALF < this.len) {
      this.push(this.sampleAt(this.pos));
      this.pos += this.ratio;
    }
    // Keep only the history the next output sample needs.
    var drop = Math.floor(this.pos) - HALF;
    if (drop > 0) {
      this.buf.copyWithin(0, drop, this.len);
      this.len -= drop;
      this.pos -= drop;
    }
    return true;
  };

  registerProcessor("pcm16-downsampler", PcmDownsampler);
})();
