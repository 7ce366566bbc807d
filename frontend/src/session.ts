import { useEffect, useState } from 'preact/hooks';
import { api, type User } from './api';

/** The signed-in user (re-renders on sign-in, sign-out, role change). */
export function useUser(): User | null {
  const [user, setUser] = useState<User | null>(api.user);
  useEffect(() => api.onUser(setUser), []);
  return user;
}

/** Whether this user may create and change things (the `monitor` role reads only). */
export function canWrite(user: User | null): boolean {
  return !!user && user.role !== 'monitor';
}
