// folder_names: whether vow-get may trust one listing of the output folder
// (a name not listed is free) or must look each name up.
#include "folder_names.hpp"

#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/vfs.h>

#include <filesystem>

namespace {

TEST(folder_names, file_systems_that_compare_names_as_bytes_are_exact) {
    for (long type : {long(EXT4_SUPER_MAGIC), long(XFS_SUPER_MAGIC), long(BTRFS_SUPER_MAGIC), long(TMPFS_MAGIC),
                      long(F2FS_SUPER_MAGIC), long(OVERLAYFS_SUPER_MAGIC), 0x2FC12FC1L /* zfs */})
        EXPECT_TRUE(vow_get::names_compare_exactly(type, false)) << std::hex << type;
}

TEST(folder_names, a_casefolded_folder_is_not) {
    for (long type : {long(EXT4_SUPER_MAGIC), long(F2FS_SUPER_MAGIC), long(TMPFS_MAGIC), long(XFS_SUPER_MAGIC)})
        EXPECT_FALSE(vow_get::names_compare_exactly(type, true)) << std::hex << type;
}

TEST(folder_names, fat_exfat_ntfs_smb_hfs_and_unknown_file_systems_are_not) {
    for (long type : {long(MSDOS_SUPER_MAGIC), 0x2011BAB0L /* exFAT */, 0x5346544EL /* ntfs */, 0x7366746EL /* ntfs3 */,
                      long(CIFS_SUPER_MAGIC), long(SMB2_SUPER_MAGIC), long(SMB_SUPER_MAGIC), 0x482BL /* HFS+ */,
                      long(FUSE_SUPER_MAGIC), long(NFS_SUPER_MAGIC), 0x12345678L})
        EXPECT_FALSE(vow_get::names_compare_exactly(type, false)) << std::hex << type;
}

TEST(folder_names, where_names_compare_without_case_names_that_differ_in_case_are_one) {
    EXPECT_EQ(vow_get::name_key("README.TXT", false), vow_get::name_key("readme.txt", false));
    EXPECT_EQ(vow_get::name_key("Report-2026.PDF", false), "report-2026.pdf");
    EXPECT_NE(vow_get::name_key("README.TXT", true), vow_get::name_key("readme.txt", true));
    EXPECT_EQ(vow_get::name_key("\xc3\x89t\xc3\xa9.txt", false), "\xc3\x89t\xc3\xa9.txt") << "bytes past ASCII are kept";
}

TEST(folder_names, taken_names_match_as_the_folder_matches_names) {
    vow_get::taken_names folded(false);
    folded.add("/downloads/README.TXT.part");
    EXPECT_TRUE(folded.contains("/downloads/readme.txt.part")) << "one file where case does not count";
    EXPECT_FALSE(folded.contains("/downloads/readme.txt"));

    vow_get::taken_names exact(true);
    exact.add("/downloads/README.TXT.part");
    EXPECT_TRUE(exact.contains("/downloads/README.TXT.part"));
    EXPECT_FALSE(exact.contains("/downloads/readme.txt.part")) << "two files where names compare as bytes";
}

TEST(folder_names, the_temporary_folder_here_is_told_and_a_missing_one_is_not_exact) {
    const auto here = std::filesystem::temp_directory_path();
    struct statfs fs {};
    ASSERT_EQ(::statfs(here.c_str(), &fs), 0);
    if (fs.f_type != EXT4_SUPER_MAGIC && fs.f_type != TMPFS_MAGIC)
        GTEST_SKIP() << here << " is neither ext4 nor tmpfs: its answer is not known here";
    EXPECT_TRUE(vow_get::folder_names_compare_exactly(here));
    EXPECT_FALSE(vow_get::folder_names_compare_exactly(std::filesystem::temp_directory_path() / "vow-no-such-folder"));
}

}  // namespace
