#include "progress_view.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <sys/ioctl.h>
#include <unistd.h>

#include "format.hpp"
#include "terminal_text.hpp"
#include "vow/http/client.hpp"
#include "vow/http/errors.hpp"

namespace vow_get {
namespace {

constexpr auto redraw_interval = std::chrono::milliseconds(200);  // 5 frames a second
constexpr std::size_t bar_cells = 20;
constexpr auto rate_window = std::chrono::seconds(3);        // the rate shown is over this long
constexpr auto stalled_after = std::chrono::milliseconds(1500);  // no bytes for this long: "stalled"
constexpr std::size_t max_name_width = 28;
constexpr std::size_t max_bars = 8;  // bars drawn at once; the total line counts the rest

// Set by SIGWINCH; the next frame reads the terminal's size again. A
// lock-free atomic is all a signal handler may touch.
std::atomic<bool> terminal_resized{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void note_resize(int) { terminal_resized.store(true, std::memory_order_relaxed); }

// A name cut or padded to exactly `width` columns.
std::string pad_or_cut(const std::string& s, std::size_t width) {
    std::string cut = cut_to_width(s, width);
    return cut + std::string(width - std::min(width, display_width(cut)), ' ');
}

}  // namespace

view_mode choose_view_mode(bool quiet, int fd) {
    if (quiet) return view_mode::quiet;
    const char* term = std::getenv("TERM");
    if (::isatty(fd) && !(term && std::strcmp(term, "dumb") == 0)) return view_mode::bars;
    return view_mode::plain;
}

std::string printable(std::string_view text) { return vow::http::printable_text(text); }

progress_view::progress_view(view_mode mode, int fd) : mode_(mode), fd_(fd) {
    if (mode_ != view_mode::bars) return;
    struct sigaction sa {};
    sa.sa_handler = note_resize;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    resize_handler_installed_ = ::sigaction(SIGWINCH, &sa, &previous_winch_) == 0;
    read_terminal_size();
}

progress_view::~progress_view() {
    close();
    if (resize_handler_installed_) ::sigaction(SIGWINCH, &previous_winch_, nullptr);
}

void progress_view::read_terminal_size() {
    winsize ws{};
    if (::ioctl(fd_, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        columns_ = ws.ws_col;
        rows_ = ws.ws_row > 0 ? ws.ws_row : 24;
    }
}

void progress_view::set_total_items(std::size_t n) {
    std::lock_guard lock(mutex_);
    total_items_ = n;
}

void progress_view::started(std::size_t id, const std::string& name, const std::string& url) {
    std::lock_guard lock(mutex_);
    item& it = active_[id];
    it.name = printable(name);
    it.started = clock::now();
    if (mode_ == view_mode::plain)
        emit_locked("start  " + it.name + "  " + printable(vow::http::redacted_url(url)), false);
}

void progress_view::progressed(std::size_t id, const vow::http::progress& p) {
    // Called on an I/O thread: it never waits for a frame being drawn (a
    // slow terminal); the report is dropped, and the next one brings it.
    std::unique_lock lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return;
    auto found = active_.find(id);
    if (found == active_.end()) return;  // a late report after the item ended
    item& it = found->second;
    it.received = p.received;
    it.total = p.total;
    it.client_rate = p.bytes_per_second;
    it.retry_at.reset();
    auto now = clock::now();
    if (!it.samples.empty() && p.received < it.samples.back().second) it.samples.clear();  // started over
    it.samples.emplace_back(now, p.received);
    while (it.samples.size() > 2 && now - it.samples.front().first > rate_window) it.samples.pop_front();
}

void progress_view::retrying(std::size_t id, int attempt, const error_description& why,
                             clock::duration delay) {
    std::lock_guard lock(mutex_);
    std::string name;
    if (auto found = active_.find(id); found != active_.end()) {
        name = found->second.name;
        found->second.retry_at = clock::now() + delay;
        found->second.retry_reason = printable(why.message);
        found->second.samples.clear();
    }
    emit_locked("retry  " + name + "  attempt " + std::to_string(attempt) + " failed: " +
                    printable(why.message) + "; retrying in " + format_seconds(delay),
                false);
}

void progress_view::finished(std::size_t id, const vow::http::download_result& r, bool already_complete) {
    std::lock_guard lock(mutex_);
    auto found = active_.find(id);
    if (found == active_.end()) return;
    if (already_complete) {
        std::string line = "done   " + printable(r.path.filename().string()) + "  " + format_bytes(r.size) + ", already complete";
        active_.erase(found);
        ++done_;
        emit_locked(line, false);
        return;
    }
    ++done_;
    finished_bytes_ += r.transferred;
    if (mode_ == view_mode::quiet) {  // no line to show: none to make
        active_.erase(found);
        return;
    }
    auto elapsed = clock::now() - found->second.started;
    double secs = std::chrono::duration<double>(elapsed).count();
    std::string line = "done   " + found->second.name + "  " + format_bytes(r.size) + (decoded_ ? " decoded" : "") +
                       " in " + format_seconds(elapsed);
    if (secs > 0) line += " (" + format_rate(static_cast<double>(r.transferred) / secs) + ")";
    if (r.resumed_from > 0) line += ", resumed from " + format_bytes(r.resumed_from);
    if (r.status == 416) line += ", already complete";
    active_.erase(found);
    emit_locked(line, false);
}

void progress_view::failed(std::size_t id, const error_description& why) {
    std::lock_guard lock(mutex_);
    std::string name;
    if (auto found = active_.find(id); found != active_.end()) {
        name = found->second.name;
        active_.erase(found);
    }
    ++failed_;
    emit_locked("failed " + name + "  " + printable(why.message), true);
}

void progress_view::cancelled(std::size_t id) {
    std::lock_guard lock(mutex_);
    active_.erase(id);
}

void progress_view::info(const std::string& line) {
    std::lock_guard lock(mutex_);
    emit_locked(line, false);
}

void progress_view::important(const std::string& line) {
    std::lock_guard lock(mutex_);
    emit_locked(line, true);
}

void progress_view::print_to(int fd, const std::string& line) {
    std::lock_guard lock(mutex_);
    if (mode_ == view_mode::bars && !closed_ && drawn_lines_ > 0) {
        write_all(fd_, "\x1b[" + std::to_string(drawn_lines_) + "A\r\x1b[J");
        drawn_lines_ = 0;
        last_frame_ = {};  // redraw at the next tick
    }
    write_all(fd, line + "\n");
}

void progress_view::tick() {
    std::lock_guard lock(mutex_);
    redraw_locked(false);
}

void progress_view::close() {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    if (mode_ == view_mode::bars) {
        redraw_locked(true);
        if (cursor_hidden_) write_all(fd_, "\x1b[?25h");
        cursor_hidden_ = false;
    }
    closed_ = true;
}

void progress_view::emit_locked(const std::string& line, bool always) {
    if (mode_ == view_mode::quiet && !always) return;
    if (mode_ == view_mode::bars && !closed_) {
        pending_lines_.push_back(line);
        return;
    }
    if (mode_ == view_mode::bars) {  // a terminal, after the bars: still never wrap
        write_all(fd_, cut_to_width(printable(line), line_width_locked()) + "\n");
        return;
    }
    write_all(fd_, printable(line) + "\n");
}

void progress_view::redraw_locked(bool force) {
    if (mode_ != view_mode::bars || closed_) return;
    auto now = clock::now();
    const bool resized = terminal_resized.load(std::memory_order_relaxed);
    if (!force && !resized && pending_lines_.empty() && now - last_frame_ < redraw_interval) return;
    last_frame_ = now;

    if (terminal_resized.exchange(false, std::memory_order_relaxed)) read_terminal_size();
    const std::size_t width = line_width_locked();
    std::string frame;
    if (!cursor_hidden_) {
        frame += "\x1b[?25l";
        cursor_hidden_ = true;
    }
    if (drawn_lines_ > 0) frame += "\x1b[" + std::to_string(drawn_lines_) + "A";
    frame += '\r';
    for (const auto& line : pending_lines_) frame += "\x1b[2K" + cut_to_width(printable(line), width) + "\n";
    pending_lines_.clear();
    // Bars for the most recently started only (ids grow in start order): with
    // hundreds in flight the total line speaks for the rest.
    const std::size_t shown = std::min(active_.size(), bars_shown_locked());
    auto first_shown = std::next(active_.begin(), static_cast<std::ptrdiff_t>(active_.size() - shown));
    std::size_t lines = 0;
    std::size_t name_width = 8;
    for (auto it = first_shown; it != active_.end(); ++it)
        name_width = std::max(name_width, std::min(display_width(it->second.name), max_name_width));
    for (auto it = first_shown; it != active_.end(); ++it) {
        frame += "\x1b[2K" + bar_line(it->second, name_width, width, now) + "\n";
        ++lines;
    }
    frame += "\x1b[2K" + total_line(width, shown) + "\n";
    ++lines;
    frame += "\x1b[J";  // erase whatever the previous, taller frame left below
    drawn_lines_ = lines;
    write_all(fd_, frame);
}

double progress_view::recent_rate(const item& it, clock::time_point now) {
    if (it.samples.empty()) return 0;
    const auto& [last_t, last_n] = it.samples.back();
    if (now - last_t > stalled_after) return 0;
    const auto& [first_t, first_n] = it.samples.front();
    double span = std::chrono::duration<double>(now - first_t).count();
    if (span < 0.5) return it.client_rate;  // too little history yet
    return static_cast<double>(last_n - first_n) / span;
}

std::string progress_view::bar_line(const item& it, std::size_t name_width, std::size_t width,
                                    clock::time_point now) const {
    std::string bytes = format_bytes(it.received);
    std::string percent;
    std::optional<double> fraction;
    if (it.total && *it.total > 0) {
        fraction = std::min(1.0, static_cast<double>(it.received) / static_cast<double>(*it.total));
        char pct[8];
        std::snprintf(pct, sizeof pct, "%4d%%", static_cast<int>(*fraction * 100));
        percent = pct;
        bytes += "/" + format_bytes(*it.total);
    }
    if (decoded_) bytes += " decoded";

    std::string status;
    if (it.retry_at) {
        auto left = std::max(clock::duration::zero(), *it.retry_at - now);
        status = left > clock::duration::zero() ? "retry in " + format_seconds(left) + " after " + it.retry_reason
                                                : "retrying after " + it.retry_reason;
    } else if (!it.samples.empty() && now - it.samples.back().first > stalled_after) {
        status = "stalled " + format_clock(std::chrono::duration_cast<std::chrono::seconds>(now - it.samples.back().first));
    } else if (it.samples.empty() && now - it.started > stalled_after) {
        status = "waiting for the server";
    } else {
        double rate = recent_rate(it, now);
        status = format_rate(rate);
        if (it.total && rate > 0 && *it.total > it.received) {
            auto eta = std::chrono::seconds(
                static_cast<long long>(static_cast<double>(*it.total - it.received) / rate + 0.5));
            status += "  ETA " + format_clock(eta);
        }
    }

    // name [bar] pct  bytes  status: the bar gives up cells first on a narrow terminal.
    std::string name = pad_or_cut(it.name, name_width);
    std::size_t fixed = name_width + percent.size() + 2 + bytes.size() + 2 + display_width(status);
    std::string bar;
    if (fraction) {
        // At least 10 cells: a long status is cut at the edge rather than the bar dropped.
        std::size_t cells = width > fixed + 3 ? std::min(bar_cells, width - fixed - 3) : 0;
        cells = std::max<std::size_t>(cells, 10);
        auto filled = static_cast<std::size_t>(*fraction * static_cast<double>(cells));
        bar = " [" + std::string(filled, '#') + std::string(cells - filled, '-') + "]";
    }
    return cut_to_width(name + bar + percent + "  " + bytes + "  " + status, width);
}

std::string progress_view::total_line(std::size_t width, std::size_t bars_shown) const {
    std::uint64_t bytes = finished_bytes_;
    double rate = 0;
    auto now = clock::now();
    for (const auto& [id, it] : active_) {
        bytes += it.received;
        rate += recent_rate(it, now);
    }
    auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(clock::now() - start_);
    std::string line = "total: " + std::to_string(done_) + "/" + std::to_string(total_items_) + " done";
    if (failed_ > 0) line += ", " + std::to_string(failed_) + " failed";
    line += ", " + std::to_string(active_.size()) + " active";
    if (bars_shown < active_.size()) line += " (" + std::to_string(bars_shown) + " shown)";
    line += ", " + format_bytes(bytes) + ", " + format_rate(rate) + ", " + format_clock(elapsed);
    return cut_to_width(line, width);
}

std::size_t progress_view::line_width_locked() const {
    return columns_ > 1 ? columns_ - 1 : 1;  // never touch the last column: no auto-wrap
}

std::size_t progress_view::bars_shown_locked() const {
    // At most max_bars, and room for the total line and a few event lines.
    return std::clamp<std::size_t>(rows_ > 6 ? rows_ - 6 : 1, 1, max_bars);
}

std::string progress_view::finished_summary() {
    std::lock_guard lock(mutex_);
    auto elapsed = clock::now() - start_;
    double secs = std::chrono::duration<double>(elapsed).count();
    std::string line = format_bytes(finished_bytes_) + " in " + format_seconds(elapsed);
    if (secs > 0) line += " (" + format_rate(static_cast<double>(finished_bytes_) / secs) + " average)";
    return line;
}

void progress_view::write_all(int fd, const std::string& bytes) {
    const char* p = bytes.data();
    std::size_t left = bytes.size();
    while (left > 0) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;  // nowhere to report a broken terminal; drop the frame
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

}  // namespace vow_get
