# shellcheck shell=bash disable=SC2154 # $recipes comes from scripts/images
# RHEL's httpd layout over Debian's apache2, for the images whose upstream is AlmaLinux with httpd
# (idds, panda-server), sourced by their recipes: /usr/sbin/httpd is apache2; /etc/httpd holds
# conf/httpd.conf (ours), conf.modules.d/00-base.conf (RHEL's default modules the upstream httpd files
# rely on), conf.d/ and the links modules, logs, run; /usr/lib64/httpd/modules is Debian's module
# directory; apache2's own root /etc/apache2 leads to the same files (apache2.conf includes ours, and
# the relative conf.modules.d/ and modules/ of an "httpd -f FILE" resolve there). Debian's CA
# certificates stand in for the IGTF bundle in /etc/grid-security/certificates (ca-policy-egi-core is
# not in Debian; httpd refuses an empty CA directory); the site's own CAs are copied next to them.
rhel_httpd_layout() {
  local r=$1 d=$recipes/rhel-httpd
  install -d "$r/etc/httpd/conf" "$r/etc/httpd/conf.d" "$r/etc/httpd/conf.modules.d" "$r/usr/lib64/httpd"
  ln -s /usr/lib/apache2/modules "$r/etc/httpd/modules"
  ln -s /usr/lib/apache2/modules "$r/usr/lib64/httpd/modules"
  install -d -m 1777 "$r/var/log/httpd"
  ln -s /var/log/httpd "$r/etc/httpd/logs"
  ln -s /run/httpd "$r/etc/httpd/run"
  install -m 0644 "$d/httpd.conf" "$r/etc/httpd/conf/httpd.conf"
  install -m 0644 "$d/modules.conf" "$r/etc/httpd/conf.modules.d/00-base.conf"
  install -m 0644 "$d/ssl.conf" "$r/etc/httpd/conf.d/zz-ssl.conf"
  printf 'Include /etc/httpd/conf/httpd.conf\n' >"$r/etc/apache2/apache2.conf"
  ln -s /etc/httpd/conf.modules.d "$r/etc/apache2/conf.modules.d"
  ln -s /usr/lib/apache2/modules "$r/etc/apache2/modules"
  ln -s apache2 "$r/usr/sbin/httpd"
  install -d -m 0777 "$r/etc/grid-security" "$r/etc/grid-security/certificates"
  chroot "$r" sh -c 'cp -L /etc/ssl/certs/*.0 /etc/grid-security/certificates/'
}
# after mmdebstrap (its /run is a tmpfs while it builds): httpd's run directories, open to any uid
rhel_httpd_run_dirs() {
  install -d -m 1777 "$1/run/httpd" "$1/run/apache2"
}
