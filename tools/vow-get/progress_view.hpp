// What vow-get shows while it works. On a terminal: one live bar per active
// download and a total line, redrawn a few times a second in one write (cursor
// up, rewrite, erase the rest), with event lines scrolling above the bars.
// No line it writes to a terminal is wider than the terminal (cut with "…",
// the width read again on SIGWINCH), so nothing wraps and garbles a redraw;
// bars are drawn for the few most recently started downloads only.
// Elsewhere: one plain line per event (start, retry, done, failed) and no
// control characters at all. Everything goes to one fd (stderr by default).
//
// Thread safety: every method may be called from any thread (progress and
// retry hooks arrive on the client's executor); one mutex guards the state.
#pragma once

#include <csignal>
#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "error_text.hpp"
#include "vow/http/client.hpp"

namespace vow_get {

enum class view_mode {
    bars,   // a terminal
    plain,  // a pipe or file: one line per event
    quiet,  // -q: failures and the summary only
};

// bars when `fd` is a terminal (and TERM is not "dumb"), plain otherwise;
// quiet wins over both.
view_mode choose_view_mode(bool quiet, int fd = 2);

// Replaces control characters with '?' so a server's text can never move our
// cursor or break the plain format: C0 (ESC, CR, ...) and DEL, and C1 both as
// raw bytes 0x80-0x9f (outside a valid UTF-8 sequence) and as UTF-8 U+0080-U+009F.
// Every line the view writes goes through it.
std::string printable(std::string_view text);

class progress_view {
public:
    using clock = std::chrono::steady_clock;

    explicit progress_view(view_mode mode, int fd = 2);
    ~progress_view();  // close()
    progress_view(const progress_view&) = delete;
    progress_view& operator=(const progress_view&) = delete;

    view_mode mode() const noexcept { return mode_; }
    void set_total_items(std::size_t n);
    // --compressed: byte counts are of the decoded body (whose size the
    // server does not announce); the bars and done lines say "decoded".
    void label_decoded(bool on) { decoded_ = on; }

    // `url` is shown (its credentials redacted) by the plain view only.
    void started(std::size_t id, const std::string& name, const std::string& url);
    // From any thread; dropped rather than wait while a frame is drawn.
    void progressed(std::size_t id, const vow::http::progress& p);
    void retrying(std::size_t id, int attempt, const error_description& why, clock::duration delay);
    // `already_complete`: the file was already there, whole; nothing was downloaded.
    void finished(std::size_t id, const vow::http::download_result& r, bool already_complete = false);
    void failed(std::size_t id, const error_description& why);
    // Stopped by Ctrl-C: leaves the bars, without an event line.
    void cancelled(std::size_t id);

    // A line for people (summaries); not shown when quiet.
    void info(const std::string& line);
    // A line that is always shown (failures, what was left after Ctrl-C).
    void important(const std::string& line);

    // Writes `line` and a newline to `fd` (e.g. a --json line to stdout), first
    // clearing the bars if they are on screen; the next frame redraws them.
    void print_to(int fd, const std::string& line);

    // "1.50 MiB in 2.0 s (768 KiB/s average)": the bytes the finished
    // downloads received, the time since the view was made, and their rate.
    std::string finished_summary();

    // Bars: redraws when the last frame is older than the redraw interval.
    void tick();
    // Bars: draws the final frame and shows the cursor again. Idempotent.
    void close();

private:
    struct item {
        std::string name;
        clock::time_point started;
        std::uint64_t received = 0;
        std::optional<std::uint64_t> total;
        double client_rate = 0;  // the client's figure, over the whole attempt
        // (time, received) of the last few seconds: the rate shown is recent, and
        // falls to zero when the bytes stop coming.
        std::deque<std::pair<clock::time_point, std::uint64_t>> samples;
        std::optional<clock::time_point> retry_at;  // waiting for a retry until then
        std::string retry_reason;
    };

    // Bytes per second over the recent window, as of `now`.
    static double recent_rate(const item& it, clock::time_point now);

    void emit_locked(const std::string& line, bool always);
    void redraw_locked(bool force);
    std::string bar_line(const item& it, std::size_t name_width, std::size_t width, clock::time_point now) const;
    std::string total_line(std::size_t width, std::size_t bars_shown) const;
    void read_terminal_size();                   // columns_ and rows_ from the terminal
    std::size_t line_width_locked() const;       // columns a line may take
    std::size_t bars_shown_locked() const;       // bars a frame draws at most
    static void write_all(int fd, const std::string& bytes);

    const view_mode mode_;
    const int fd_;
    bool decoded_ = false;  // set before the first download starts
    struct sigaction previous_winch_ {};  // restored by the destructor
    bool resize_handler_installed_ = false;

    std::mutex mutex_;  // guards everything below
    std::map<std::size_t, item> active_;  // by id: bars in start order
    std::vector<std::string> pending_lines_;  // bars: event lines for the next frame
    std::size_t drawn_lines_ = 0;   // bar lines on screen, below the cursor's row
    std::size_t columns_ = 80;      // the terminal's size, read again after SIGWINCH
    std::size_t rows_ = 24;
    bool cursor_hidden_ = false;
    bool closed_ = false;
    clock::time_point last_frame_{};
    clock::time_point start_ = clock::now();
    std::size_t total_items_ = 0;
    std::size_t done_ = 0;
    std::size_t failed_ = 0;
    std::uint64_t finished_bytes_ = 0;  // transferred by finished items
};

}  // namespace vow_get
