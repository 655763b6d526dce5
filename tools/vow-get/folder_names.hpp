// Whether a folder tells its names apart byte for byte, as vow-get's one
// listing of the output folder assumes (jobs.cpp): a name not in the
// listing is then free. FAT, exFAT, NTFS, SMB shares and HFS+ match names
// without regard to case (README.TXT answers for readme.txt), as does an
// ext4 or f2fs folder with casefolding on; there the listing is not used
// and each name is looked up, which the file system answers rightly.
#pragma once

#include <filesystem>
#include <string>
#include <unordered_set>

namespace vow_get {

// A file system's magic number (statfs f_type) and whether the folder has
// casefolding on: true only for file systems known to compare names as
// bytes. One not known here (a network share, FUSE) counts as not exact.
bool names_compare_exactly(long fs_type, bool casefold);

// The same for `folder` as it is; false when it cannot be told.
bool folder_names_compare_exactly(const std::filesystem::path& folder);

// What stands for `name` when names are compared as such a folder does:
// the name itself where they compare exactly, else with ASCII letters in
// lower case (README.TXT and readme.txt are one name there).
std::string name_key(std::string name, bool exact);

// Names (or paths) in one folder as the folder tells them apart: where it
// matches names without regard to case, README.part and readme.part are
// one. The batch's choice of names and the --content-disposition renames
// keep off the names taken with it.
class taken_names {
public:
    explicit taken_names(bool exact) : exact_(exact) {}
    void add(const std::string& name) { keys_.insert(name_key(name, exact_)); }
    bool contains(const std::string& name) const { return keys_.contains(name_key(name, exact_)); }

private:
    bool exact_;
    std::unordered_set<std::string> keys_;
};

}  // namespace vow_get
