#include "folder_names.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>
#include <unistd.h>

namespace vow_get {

namespace {

// statfs(2) f_type values (linux/magic.h) of file systems that compare names
// as bytes, unless the folder has casefolding on (ext4, f2fs, tmpfs since
// Linux 6.13). Not told by statfs: an XFS made with -n version=ci, a ZFS
// dataset with casesensitivity=insensitive. There an item whose name is
// taken by another case fails at the end instead of taking NAME.1; the file
// there is not replaced (existing_file_policy::fail).
constexpr long ext4 = 0xEF53;  // ext2 and ext3 too
constexpr long f2fs = 0xF2F52010;
constexpr long xfs = 0x58465342;
constexpr long btrfs = 0x9123683E;
constexpr long tmpfs = 0x01021994;
constexpr long zfs = 0x2FC12FC1;
constexpr long overlayfs = 0x794C7630;  // case as its layers: these, in practice

// FS_CASEFOLD_FL, for headers older than Linux 5.4's.
constexpr unsigned long casefold_flag = 0x40000000;

}  // namespace

bool names_compare_exactly(long fs_type, bool casefold) {
    switch (fs_type) {
        case ext4:
        case f2fs:
        case xfs:
        case btrfs:
        case tmpfs:
        case zfs:
        case overlayfs:
            return !casefold;
        default:
            return false;
    }
}

std::string name_key(std::string name, bool exact) {
    if (!exact)
        for (auto& c : name)
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return name;
}

bool folder_names_compare_exactly(const std::filesystem::path& folder) {
    const char* name = folder.empty() ? "." : folder.c_str();
    int fd = ::open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;
    struct statfs fs {};
    const bool known = ::fstatfs(fd, &fs) == 0;
    int flags = 0;  // FS_IOC_GETFLAGS writes an int, whatever its declaration says
    const bool casefold =
        ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (static_cast<unsigned long>(flags) & casefold_flag) != 0;
    ::close(fd);
    return known && names_compare_exactly(static_cast<long>(fs.f_type), casefold);
}

}  // namespace vow_get
